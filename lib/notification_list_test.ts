import assert from "node:assert/strict";
import type { Stream } from "./keys.ts";
import { openKv } from "./kv.ts";
import { SCAN_BUDGET } from "./notification_list.ts";
import { createNotificationStore, type NotificationView } from "./notifications.ts";
import type { ReadMark } from "./read_marks.ts";
import { fillStream } from "../tests/helpers/stored.ts";

async function withStore(
  body: (
    store: ReturnType<typeof createNotificationStore>,
    kv: Deno.Kv,
    clock: { now: number },
  ) => Promise<void>,
  ttlMs = 86_400_000,
) {
  const kv = await openKv(":memory:");
  const clock = { now: Date.parse("2026-11-01T00:00:00Z") };
  try {
    await body(createNotificationStore(kv, { ttlMs, now: () => clock.now }), kv, clock);
  } finally {
    kv.close();
  }
}

Deno.test("store.list() unread after read-all reads no notification, whatever the stream's length", async () => {
  await withStore(async (store) => {
    await fillStream(store, "all", 3000);
    await fillStream(store, "user:u1", 20);
    const before = await store.list("u1", "client", { unread: true });
    assert.equal(before.unreadCount, 3020);
    assert.equal(await store.markAllRead("u1", "client"), 3020);

    const after = await store.list("u1", "client", { unread: true });
    assert.deepEqual(after.items, []);
    assert.equal(after.nextCursor, null);
    assert.equal(after.unreadCount, 0);
    // Two read marks and one empty probe per stream above its mark: nothing of the 3,020 stored.
    assert.ok(after.examined <= 4, `examined ${after.examined}`);

    await fillStream(store, "all", 5);
    const fresh = await store.list("u1", "client", { unread: true });
    assert.deepEqual(fresh.items.map((n) => n.data.n), [5, 4, 3, 2, 1]);
    assert.equal(fresh.unreadCount, 5);
    assert.ok(fresh.examined <= 20, `examined ${fresh.examined}`);
  });
});

Deno.test("store.list() past its scan budget ends early; following nextCursor yields every unread once, in order", async () => {
  await withStore(async (store, _kv, clock) => {
    const streams: Stream[] = ["user:a1", "all", "role:admin"];
    // 51 older notifications in each stream, then 199 newer ones in each, read one by one: the newest 597
    // across the streams are read, so an unread scan must step over all of them first.
    for (const stream of streams) await fillStream(store, stream, 51);
    clock.now += 1000;
    for (const stream of streams) {
      clock.now += 1000;
      for (const id of await fillStream(store, stream, 199)) {
        assert.ok(await store.markRead("a1", "admin", id));
      }
    }
    const seen: NotificationView[] = [];
    let cursor: string | undefined;
    let pages = 0;
    let shortPages = 0;
    do {
      const page = await store.list("a1", "admin", { unread: true, limit: 10, cursor });
      pages++;
      if (page.items.length < 10 && page.nextCursor) shortPages++;
      assert.equal(page.unreadCount, 3 * 51);
      // The budget, plus at most as many read states, plus marks and probes.
      assert.ok(page.examined <= 2 * SCAN_BUDGET + 12, `examined ${page.examined}`);
      seen.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && pages < 100);
    assert.ok(shortPages >= 1, "the first page ran out of budget before it was full");
    assert.equal(seen.length, 3 * 51);
    assert.equal(new Set(seen.map((n) => n.id)).size, seen.length);
    assert.ok(seen.every((n) => n.readAt === null && (n.data.n as number) <= 51));
    const times = seen.map((n) => n.createdAt);
    assert.deepEqual(times, [...times].sort().reverse());
  });
});

Deno.test("store.markRead() one at a time never makes another notification read; the count reads at most two bitmap chunks", async (t) => {
  await withStore(async (store) => {
    // 20,000 notifications: three read bitmap chunks of 8,192 seqs.
    const ids = await fillStream(store, "user:u2", 20_000);
    const read = new Set<number>();
    for (let seq = 3; seq <= 20_000; seq += 41) read.add(seq);
    for (const seq of [8191, 8192, 8193, 16_383, 16_384, 19_999, 20_000]) read.add(seq);

    await t.step("hundreds of reads, far apart, each kept as it is", async () => {
      for (const seq of read) assert.ok(await store.markRead("u2", "client", ids[seq - 1]));
      const page = await store.list("u2", "client", { limit: 1 });
      assert.equal(page.unreadCount, 20_000 - read.size);
      // Two marks, two probes, a notification and its read state per stream (two for the one that holds
      // more), and at most two bitmap chunks per stream for the count.
      assert.ok(page.examined <= 2 + 2 + 2 * 2 + 2 * 2, `examined ${page.examined}`);
    });

    await t.step("every page shows exactly the reads as read, and the unread page the rest", async () => {
      const readSeqs: number[] = [];
      let unreadSeen = 0;
      let cursor: string | undefined;
      do {
        const page = await store.list("u2", "client", { limit: 100, cursor });
        assert.equal(page.unreadCount, 20_000 - read.size);
        for (const n of page.items) n.readAt ? readSeqs.push(n.seq) : unreadSeen++;
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      assert.deepEqual(readSeqs.sort((a, b) => a - b), [...read].sort((a, b) => a - b));
      assert.equal(unreadSeen, 20_000 - read.size);
    });

    await t.step("reading again, or reading-all, counts only what was unread", async () => {
      assert.ok(await store.markRead("u2", "client", ids[2]));
      assert.equal((await store.list("u2", "client", { limit: 1 })).unreadCount, 20_000 - read.size);
      assert.equal(await store.markAllRead("u2", "client"), 20_000 - read.size);
      assert.equal((await store.list("u2", "client", { limit: 1 })).unreadCount, 0);
    });
  });
});

Deno.test("store.list() skips expired notifications still in KV without reading them one by one", async () => {
  await withStore(async (store, _kv, clock) => {
    await fillStream(store, "all", 1200);
    clock.now += 2000; // all of those have expired (KV deletes them later)
    await fillStream(store, "all", 10);
    const page = await store.list("u3", "client", { limit: 100 });
    assert.equal(page.items.length, 10);
    assert.equal(page.nextCursor, null);
    assert.equal(page.unreadCount, 10);
    // A binary search for the oldest live one (about log₂ 1210 reads per search), not 1,200 reads.
    assert.ok(page.examined < 80, `examined ${page.examined}`);
  }, 1000);
});

Deno.test("store.list() counts unread exactly when notifications above the mark expired, and for old marks", async (t) => {
  await withStore(async (store, kv, clock) => {
    const old = await fillStream(store, "user:u4", 30);
    await store.markRead("u4", "client", old[29]);
    clock.now += 600;
    const fresh = await fillStream(store, "user:u4", 10);
    for (const id of fresh.slice(0, 4)) await store.markRead("u4", "client", id);

    await t.step("the mark's count, while nothing above the mark has expired", async () => {
      assert.equal((await store.list("u4", "client")).unreadCount, 29 + 6);
    });

    await t.step("the read bitmaps, once the older ones expired", async () => {
      clock.now += 600; // the first 30 have expired (and the read state of the 30th with them)
      const page = await store.list("u4", "client", { unread: true });
      assert.equal(page.unreadCount, 6);
      assert.deepEqual(page.items.map((n) => n.data.n), [10, 9, 8, 7, 6, 5]);
    });

    await t.step(
      "a mark written before read states were counted is counted from its read states",
      async () => {
        await kv.set(["read_marks", "u4", "user:u4"], { seq: 0, readAt: null });
        assert.equal((await store.list("u4", "client")).unreadCount, 6);
        await store.markRead("u4", "client", fresh[9]);
        const mark = (await kv.get<ReadMark>(["read_marks", "u4", "user:u4"])).value;
        const counted = Object.values(mark?.chunks ?? {}).reduce((sum, chunk) => sum + chunk.bits, 0);
        assert.ok(mark?.chunks !== undefined && counted >= 5, "the next read counts them again");
        assert.equal((await store.list("u4", "client")).unreadCount, 5);
      },
    );
  }, 1000);
});
