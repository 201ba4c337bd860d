import assert from "node:assert/strict";
import { createIsolateDirectory, ISOLATE_STALE_MS, type IsolateRecord } from "./isolates.ts";
import { isolateKey } from "./keys.ts";
import { idleBeat } from "../tests/helpers/isolate_beat.ts";

const START = Date.UTC(2026, 10, 1);

/** A directory over a real in-memory KV, on a clock the test moves. */
async function setUp() {
  const kv = await Deno.openKv(":memory:");
  let clock = START;
  const directory = createIsolateDirectory(kv, () => clock);
  const beat = (isolateId: string, connections = 0) =>
    directory.beat(idleBeat(isolateId, START, { connectionsByRole: { admin: 0, client: connections } }));
  return { kv, directory, beat, advance: (ms: number) => clock += ms, now: () => clock };
}

Deno.test("isolate directory: beat() writes a record stamped with the clock; records() returns it", async () => {
  const { kv, directory, beat, advance, now } = await setUp();
  try {
    advance(250);
    await beat("a", 3);
    const [record] = await directory.records();
    assert.equal(record.isolateId, "a");
    assert.equal(record.updatedAt, now());
    assert.equal(record.startedAt, START);
    assert.equal(record.gauges.connectionsByRole.client, 3);
    const stored = await kv.get<IsolateRecord>(isolateKey("a"));
    assert.deepEqual(stored.value, record);
  } finally {
    kv.close();
  }
});

Deno.test("isolate directory: a record older than ISOLATE_STALE_MS is a dead isolate's, whatever KV still holds", async () => {
  const { kv, directory, beat, advance } = await setUp();
  try {
    await beat("quiet");
    await beat("busy");
    advance(ISOLATE_STALE_MS);
    await beat("busy");
    assert.deepEqual((await directory.records()).map((r) => r.isolateId).sort(), ["busy", "quiet"]);
    advance(1);
    assert.deepEqual((await directory.records()).map((r) => r.isolateId), ["busy"]);
    assert.notEqual(
      (await kv.get(isolateKey("quiet"))).value,
      null,
      "KV expiry is lazy: the key is still there",
    );
    assert.deepEqual(await directory.liveIds(), new Set(["busy"]));
  } finally {
    kv.close();
  }
});

Deno.test("isolate directory: liveIds() is read at most every half second of the clock, and is the caller's own copy", async () => {
  const { kv, directory, beat, advance } = await setUp();
  try {
    await beat("a");
    const first = await directory.liveIds();
    assert.deepEqual(first, new Set(["a"]));
    first.add("not-an-isolate");
    await beat("b");
    advance(499);
    assert.deepEqual(await directory.liveIds(), new Set(["a"]), "within the cache: b is not seen yet");
    advance(1);
    assert.deepEqual(await directory.liveIds(), new Set(["a", "b"]));
  } finally {
    kv.close();
  }
});

Deno.test("isolate directory: leave() forgets the isolate at once", async () => {
  const { kv, directory, beat } = await setUp();
  try {
    await beat("a");
    await beat("b");
    await directory.leave("a");
    assert.deepEqual((await directory.records()).map((r) => r.isolateId), ["b"]);
    assert.equal((await kv.get(isolateKey("a"))).value, null);
  } finally {
    kv.close();
  }
});
