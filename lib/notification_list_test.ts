import assert from "node:assert/strict";
import type { Stream } from "./keys.ts";
import { openKv } from "./kv.ts";
import { SCAN_BUDGET } from "./notification_list.ts";
import { READ_STATE_CAP } from "./read_marks.ts";
import { createNotificationStore, type NotificationView } from "./notifications.ts";
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

Deno.test("store.markRead() keeps at most READ_STATE_CAP read states above the mark by folding the older half", async (t) => {
  await withStore(async (store, kv) => {
    const ids = await fillStream(store, "user:u2", 500);
    const statesAboveMark = async () => {
      const mark = (await kv.get<{ seq: number }>(["read_marks", "u2", "user:u2"])).value?.seq ?? 0;
      let count = 0;
      for await (const e of kv.list({ prefix: ["read_states", "u2", "user:u2"] })) {
        if ((e.key[3] as number) > mark) count++;
      }
      return { mark, count };
    };

    await t.step("up to the cap, every read is kept as it is", async () => {
      // Even seqs only: 2, 4, …, 400.
      for (let seq = 2; seq <= 2 * READ_STATE_CAP; seq += 2) {
        await store.markRead("u2", "client", ids[seq - 1]);
      }
      assert.deepEqual(await statesAboveMark(), { mark: 0, count: READ_STATE_CAP });
      assert.equal((await store.list("u2", "client")).unreadCount, 500 - READ_STATE_CAP);
    });

    await t.step("the next read folds the older half into the mark", async () => {
      for (let seq = 402; seq <= 420; seq += 2) await store.markRead("u2", "client", ids[seq - 1]);
      const { mark, count } = await statesAboveMark();
      assert.equal(mark, 200); // the 100th of the 200 held
      assert.equal(count, 110);
      // Odd seqs up to 200 now count as read (documented); everything else is exact.
      const odd = Array.from({ length: 150 }, (_, i) => 201 + 2 * i).filter((s) => s < 420).length;
      const unread = odd + (500 - 420);
      const page = await store.list("u2", "client", { unread: true, limit: 100 });
      assert.equal(page.unreadCount, unread);
      const all = await store.list("u2", "client", { limit: 100, cursor: page.nextCursor ?? undefined });
      assert.ok(all.items.every((n) => n.seq > 200 || n.readAt !== null));
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

    await t.step("listed read states, once the older ones expired", async () => {
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
        const mark = (await kv.get<{ states?: number }>(["read_marks", "u4", "user:u4"])).value;
        assert.ok(mark?.states !== undefined && mark.states >= 5, "the next read counts them again");
        assert.equal((await store.list("u4", "client")).unreadCount, 5);
      },
    );
  }, 1000);
});
