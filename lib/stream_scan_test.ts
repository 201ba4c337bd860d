import assert from "node:assert/strict";
import { openKv } from "./kv.ts";
import { createNotificationStore, type NotificationDraft } from "./notifications.ts";
import { SCAN_PAGE, scanStream } from "./stream_scan.ts";

const draft = (n: number): NotificationDraft => ({
  stream: "all",
  type: "system_announcement",
  title: `Announcement ${n}`,
  message: "m",
  data: { n },
});

/** A real in-memory KV whose `list` calls are counted. */
async function countingKv() {
  const kv = await openKv(":memory:");
  const calls = { list: 0 };
  const counted = new Proxy(kv, {
    get(target, key) {
      if (key === "list") {
        return (...args: Parameters<Deno.Kv["list"]>) => (calls.list++, target.list(...args));
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv, counted, calls };
}

async function take<T>(iterable: AsyncIterable<T>, count = Infinity): Promise<T[]> {
  const out: T[] = [];
  if (count <= 0) return out;
  for await (const item of iterable) {
    out.push(item);
    if (out.length >= count) break;
  }
  return out;
}

async function storeWith(kv: Deno.Kv, count: number, now?: () => number) {
  const store = createNotificationStore(kv, { ttlMs: 86_400_000, now });
  for (let i = 0; i < count; i += 50) {
    await store.append(Array.from({ length: Math.min(50, count - i) }, (_, j) => draft(i + j + 1)));
  }
  return store;
}

Deno.test("scanStream() yields every notification after a position, in order, across pages", async () => {
  const kv = await openKv(":memory:");
  try {
    const store = await storeWith(kv, 250);
    const seqs = (await take(store.scan("all", 0))).map((n) => n.seq);
    assert.deepEqual(seqs, Array.from({ length: 250 }, (_, i) => i + 1));
    assert.deepEqual((await take(store.scan("all", 199))).map((n) => n.seq)[0], 200);
    assert.equal((await take(store.scan("all", 199))).length, 51);
    assert.deepEqual((await take(scanStream(kv, "all", 90, { upTo: 105, pageSize: 7 }))).map((n) => n.seq), [
      ...Array.from({ length: 15 }, (_, i) => 91 + i),
    ]);
    assert.deepEqual(await take(store.scan("all", 250)), []);
    assert.deepEqual(await take(store.scan("user:nobody", 0)), []);
  } finally {
    kv.close();
  }
});

Deno.test("scanStream() reads one page per list call, and no further than its consumer takes", async () => {
  const { kv, counted, calls } = await countingKv();
  try {
    await storeWith(kv, 3 * SCAN_PAGE + 10);
    await take(scanStream(counted, "all", 0), 1);
    assert.equal(calls.list, 1, "one item read more than one page");
    calls.list = 0;
    await take(scanStream(counted, "all", 0), SCAN_PAGE + 1);
    assert.equal(calls.list, 2);
    calls.list = 0;
    const all = await take(scanStream(counted, "all", 0));
    assert.equal(all.length, 3 * SCAN_PAGE + 10);
    assert.equal(calls.list, 4);
  } finally {
    kv.close();
  }
});

Deno.test("scanStream() gives nothing, never an error, for positions out of range", async () => {
  const kv = await openKv(":memory:");
  try {
    const store = await storeWith(kv, 5);
    for (const after of [2 ** 53 - 1, 2 ** 53, 2 ** 60, 1e308, Infinity, NaN]) {
      assert.deepEqual(await take(store.scan("all", after)), [], `after ${after}`);
      assert.deepEqual(await store.range("all", after), [], `range after ${after}`);
    }
    // Below zero is the start of the stream; a fraction is the position it contains.
    assert.equal((await take(store.scan("all", -1e9))).length, 5);
    assert.deepEqual((await take(store.scan("all", 2.5))).map((n) => n.seq), [3, 4, 5]);
    assert.deepEqual(await store.range("all", 3, 2), []);
    assert.deepEqual(await take(scanStream(kv, "all", 0, { upTo: -1 })), []);
  } finally {
    kv.close();
  }
});

Deno.test("scanStream() skips expired notifications and still reads the pages after them", async () => {
  const kv = await openKv(":memory:");
  let now = Date.parse("2026-11-01T00:00:00Z");
  try {
    const store = createNotificationStore(kv, { ttlMs: 1000, now: () => now });
    await store.append(Array.from({ length: 30 }, (_, i) => draft(i + 1)));
    now += 600;
    await store.append([draft(31), draft(32)]);
    now += 600;
    // The first 30 are past their TTL but still in KV: three pages of nothing, then the live ones.
    const live = await take(
      scanStream(kv, "all", 0, { pageSize: 10, alive: (n) => Date.parse(n.createdAt) + 1000 > now }),
    );
    assert.deepEqual(live.map((n) => n.seq), [31, 32]);
    assert.deepEqual((await take(store.scan("all", 0))).map((n) => n.seq), [31, 32]);
  } finally {
    kv.close();
  }
});
