import assert from "node:assert/strict";
import { createDeliveryStore } from "./deliveries.ts";
import { deliveryKey } from "./keys.ts";
import { openKv } from "./kv.ts";
import { createNotificationStore, streamsOf } from "./notifications.ts";

const TTL = 86_400_000;

async function setUp() {
  const kv = await openKv(":memory:");
  let now = Date.parse("2026-11-01T00:00:00Z");
  const clock = { now: () => now, advance: (ms: number) => now += ms };
  const store = createNotificationStore(kv, { ttlMs: TTL, now: clock.now });
  const deliveries = createDeliveryStore(kv, { ttlMs: TTL, now: clock.now });
  const note = (stream: "all" | "role:admin" | `user:${string}`, title: string) =>
    store.append([{ stream, type: "system_announcement", title, message: "m", data: {} }])
      .then((r) => r.notifications[0].id);
  return { kv, clock, deliveries, note };
}

async function deliveryCount(kv: Deno.Kv): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix: ["deliveries"] })) n++;
  return n;
}

Deno.test("deliveries.acknowledge() records the user's own notifications and nothing else", async () => {
  const { kv, deliveries, note } = await setUp();
  try {
    const mine = await note("user:u1", "mine");
    const broadcast = await note("all", "everyone's");
    const theirs = await note("user:u2", "theirs");
    const admins = await note("role:admin", "admins only");
    const madeUp = Array.from({ length: 25 }, (_, i) => `made-up-${i}`);
    const outcome = await deliveries.acknowledge("u1", streamsOf("u1", "client"), [
      mine,
      broadcast,
      theirs,
      admins,
      ...madeUp,
    ]);
    assert.deepEqual(outcome, { recorded: 2, already: 0, unknown: 25, foreign: 2 });
    assert.equal(await deliveryCount(kv), 2);
    assert.equal(typeof (await kv.get(deliveryKey("u1", mine))).value, "string");
    assert.equal(typeof (await kv.get(deliveryKey("u1", broadcast))).value, "string");
    assert.equal((await kv.get(deliveryKey("u1", theirs))).value, null);
    // An admin reads role:admin; the same id is theirs to ack.
    const asAdmin = await deliveries.acknowledge("a1", streamsOf("a1", "admin"), [admins, theirs]);
    assert.deepEqual(asAdmin, { recorded: 1, already: 0, unknown: 0, foreign: 1 });
  } finally {
    kv.close();
  }
});

Deno.test("deliveries.acknowledge() does not rewrite a delivery already recorded", async () => {
  const { kv, clock, deliveries, note } = await setUp();
  try {
    const id = await note("all", "once");
    const streams = streamsOf("u1", "client");
    assert.equal((await deliveries.acknowledge("u1", streams, [id, id, id])).recorded, 1);
    const first = await kv.get<string>(deliveryKey("u1", id));
    clock.advance(60_000);
    const again = await deliveries.acknowledge("u1", streams, [id]);
    assert.deepEqual(again, { recorded: 0, already: 1, unknown: 0, foreign: 0 });
    const second = await kv.get<string>(deliveryKey("u1", id));
    assert.equal(second.value, first.value);
    assert.equal(second.versionstamp, first.versionstamp);
    // Another user's delivery of the same broadcast is their own record.
    assert.equal((await deliveries.acknowledge("u2", streamsOf("u2", "client"), [id])).recorded, 1);
  } finally {
    kv.close();
  }
});

Deno.test("deliveries.acknowledge() from two sockets at once records each id once", async () => {
  const { kv, deliveries, note } = await setUp();
  try {
    const ids = [];
    for (let i = 0; i < 30; i++) ids.push(await note("user:u1", `n${i}`));
    const streams = streamsOf("u1", "client");
    const outcomes = await Promise.all([
      deliveries.acknowledge("u1", streams, ids),
      deliveries.acknowledge("u1", streams, [...ids].reverse()),
    ]);
    assert.equal(outcomes[0].recorded + outcomes[1].recorded, 30);
    assert.equal(outcomes[0].already + outcomes[1].already, 30);
    assert.equal(await deliveryCount(kv), 30);
  } finally {
    kv.close();
  }
});
