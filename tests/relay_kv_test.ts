import assert from "node:assert/strict";
import { openKv } from "../lib/kv.ts";
import { createLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import type { RelayEvent } from "../lib/relay.ts";
import { createKvRelay } from "../lib/relay_kv.ts";
import { assertTwoProcessRelay } from "./helpers/fanout.ts";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { connectWelcomed } from "./helpers/socket.ts";

const quiet = createLogger("error");

const disconnectEvent = (n: number): RelayEvent => ({
  kind: "disconnect",
  connectionId: `c-${n}`,
  sentAt: Date.now(),
  origin: "test",
});

Deno.test("[relay kv] two KV handles on one file: every event arrives, in order, and close() ends the watch", async () => {
  const dir = await Deno.makeTempDir({ prefix: "relay_kv_" });
  const kvA = await openKv(`${dir}/realtime.kv`);
  const kvB = await openKv(`${dir}/realtime.kv`);
  const metrics = createMetrics();
  const a = await createKvRelay(kvA, { log: quiet, metrics });
  const b = await createKvRelay(kvB, { log: quiet, metrics });
  try {
    const got: string[] = [];
    const all = Promise.withResolvers<void>();
    b.subscribe((event) => {
      if (event.kind === "disconnect") got.push(event.connectionId);
      if (got.length === 30) all.resolve();
    });
    // Several publishers at once contend for the tail; each commit is checked, so none is lost.
    await Promise.all([0, 1, 2].map(async (p) => {
      for (let i = 0; i < 10; i++) await a.publish(disconnectEvent(p * 10 + i));
    }));
    await all.promise;
    assert.equal(new Set(got).size, 30);
    for (const p of [0, 1, 2]) {
      const mine = got.filter((id) => Math.floor(Number(id.slice(2)) / 10) === p);
      assert.deepEqual(mine, [...mine].sort((x, y) => Number(x.slice(2)) - Number(y.slice(2))));
    }
    assert.deepEqual(a.health(), { name: "kv", healthy: true, errors: 0 });
  } finally {
    await a.close();
    await b.close();
    kvA.close();
    kvB.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[relay kv] in-process isolates: an admin disconnect on one closes 4500 a socket held by the other", async () => {
  const dir = await Deno.makeTempDir({ prefix: "relay_kv_" });
  const kvPath = `${dir}/realtime.kv`;
  const relay = (kv: Deno.Kv) => createKvRelay(kv, { log: quiet });
  const a = await startTestServer({ kvPath, relay });
  const b = await startTestServer({ kvPath, relay });
  try {
    const { socket, welcome } = await connectWelcomed(b.wsUrl, await b.socketToken(randomUser()));
    const id = String(welcome.data.connectionId);
    // The record is written as the socket opens; wait until isolate A can see it.
    for (let i = 0; !(await a.service.parts.registry.get(id)); i++) {
      assert.ok(i < 100, "connection record never appeared");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(a.service.parts.hub.get(id), undefined);
    assert.equal(await a.service.disconnect(id), true);
    assert.deepEqual(await socket.closed, { code: 4500, reason: "Disconnected by administrator" });
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "[relay kv] RELAY=kv, two processes sharing one KV file: exactly once, in order; limits hold across them",
  (t) => assertTwoProcessRelay(t, { RELAY: "kv" }),
);
