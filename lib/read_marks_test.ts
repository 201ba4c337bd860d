import assert from "node:assert/strict";
import fc from "fast-check";
import type { Stream } from "./keys.ts";
import { openKv } from "./kv.ts";
import { createNotificationStore, type NotificationStore, type StoredNotification } from "./notifications.ts";
import { createReadMarks, type ReadMark } from "./read_marks.ts";
import { fillStream } from "../tests/helpers/stored.ts";

const START = Date.parse("2026-11-01T00:00:00Z");

async function withStore(
  ttlMs: number,
  body: (store: NotificationStore, kv: Deno.Kv, clock: { now: number }) => Promise<void>,
) {
  const kv = await openKv(":memory:");
  const clock = { now: START };
  try {
    await body(createNotificationStore(kv, { ttlMs, now: () => clock.now }), kv, clock);
  } finally {
    kv.close();
  }
}

/** Every notification a user sees (only the unread, with `unread`), walking all pages: id → shown as read. */
async function readStates(
  store: NotificationStore,
  userId: string,
  role: "admin" | "client",
  unread = false,
) {
  const shown = new Map<string, boolean>();
  let cursor: string | undefined;
  do {
    const page = await store.list(userId, role, { limit: 100, cursor, unread });
    for (const n of page.items) shown.set(n.id, n.readAt !== null);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return shown;
}

Deno.test("read marks: reads above expired notifications are counted exactly, from two bitmap chunks at most", async (t) => {
  await withStore(1000, async (store, kv, clock) => {
    const older = await fillStream(store, "user:u5", 12_000);
    for (let i = 9; i < older.length; i += 10) await store.markRead("u5", "client", older[i]);
    clock.now += 600;
    const newer = await fillStream(store, "user:u5", 8000);
    for (let i = 7; i < newer.length; i += 8) await store.markRead("u5", "client", newer[i]);

    await t.step("while all are live", async () => {
      const page = await store.list("u5", "client", { limit: 1 });
      assert.equal(page.unreadCount, 20_000 - 1200 - 1000);
    });

    await t.step("once the older 12,000 (and 1,200 of the reads) expired", async () => {
      clock.now += 600;
      const page = await store.list("u5", "client", { limit: 1 });
      assert.equal(page.unreadCount, 8000 - 1000);
      // Two binary searches for the oldest live (about log₂ 20,000 reads each), the marks, a notification
      // and its read state, and two bitmap chunks: not the 2,200 read states.
      assert.ok(page.examined <= 2 * 17 + 10, `examined ${page.examined}`);
      const unread = await store.list("u5", "client", { unread: true, limit: 100 });
      assert.equal(unread.items.length, 100);
      assert.ok(unread.items.every((n) => n.seq > 12_000 && (n.seq - 12_000) % 8 !== 0));
    });

    await t.step("the mark forgets the counts of chunks whose notifications all expired", async () => {
      const before = (await kv.get<ReadMark>(["read_marks", "u5", "user:u5"])).value!;
      assert.deepEqual(Object.keys(before.chunks!), ["0", "1", "2"]);
      await store.markRead("u5", "client", newer[0]);
      const after = (await kv.get<ReadMark>(["read_marks", "u5", "user:u5"])).value!;
      // Chunk 0 holds seqs up to 8,191, all expired; chunk 1 holds live ones from 12,001.
      assert.deepEqual(Object.keys(after.chunks!), ["1", "2"]);
      assert.equal((await store.list("u5", "client", { limit: 1 })).unreadCount, 8000 - 1001);
    });
  });
});

Deno.test("read marks: markAllRead() moves every stream's mark in one commit, and never back", async (t) => {
  await withStore(86_400_000, async (store, kv) => {
    const streams: Stream[] = ["user:a1", "all", "role:admin"];
    for (const stream of streams) await fillStream(store, stream, 40);
    const mine = await fillStream(store, "user:a1", 10);
    for (const id of mine.slice(0, 4)) await store.markRead("a1", "admin", id);

    await t.step("one commit: the three marks carry one versionstamp", async () => {
      assert.equal(await store.markAllRead("a1", "admin"), 3 * 40 + 10 - 4);
      const marks = await kv.getMany<ReadMark[]>(streams.map((s) => ["read_marks", "a1", s]));
      assert.deepEqual(marks.map((m) => m.value?.seq), [50, 40, 40]);
      assert.equal(new Set(marks.map((m) => m.versionstamp)).size, 1);
      assert.equal(await store.markAllRead("a1", "admin"), 0);
    });

    await t.step("a read-all from older heads leaves newer marks where they are", async () => {
      const marks = createReadMarks(kv, { ttlMs: 86_400_000, now: Date.now, alive: () => true });
      assert.equal(await marks.markAllRead("a1", streams, { "user:a1": 20, all: 40, "role:admin": 30 }), 0);
      const after = await kv.getMany<ReadMark[]>(streams.map((s) => ["read_marks", "a1", s]));
      assert.deepEqual(after.map((m) => m.value?.seq), [50, 40, 40]);
    });
  });
});

Deno.test("read marks: a mark from before the read bitmaps is counted from its read states, then converted", async (t) => {
  await withStore(86_400_000, async (store, kv) => {
    /** A user's stream of 10 as the previous version left it: a mark counting three read states above it. */
    const legacy = async (userId: string) => {
      const ids = await fillStream(store, `user:${userId}`, 10);
      for (const seq of [2, 5, 7]) {
        await kv.set(["read_states", userId, `user:${userId}`, seq], new Date(START).toISOString());
      }
      await kv.set(["read_marks", userId, `user:${userId}`], {
        seq: 1,
        readAt: new Date(START).toISOString(),
        states: 3,
      });
      return ids;
    };
    const markOf = async (userId: string) =>
      (await kv.get<ReadMark>(["read_marks", userId, `user:${userId}`])).value!;

    await t.step("listed and counted as before", async () => {
      await legacy("l1");
      const page = await store.list("l1", "client");
      assert.equal(page.unreadCount, 6);
      assert.deepEqual(page.items.filter((n) => !n.readAt).map((n) => n.seq), [10, 9, 8, 6, 4, 3]);
    });

    await t.step("a read one at a time converts it: the bitmap holds the old reads and the new", async () => {
      const ids = await legacy("l2");
      await store.markRead("l2", "client", ids[3]);
      assert.equal((await markOf("l2")).chunks?.[0]?.bits, 4);
      assert.equal((await store.list("l2", "client")).unreadCount, 5);
    });

    await t.step("a read-all counts what was unread from the read states, and converts it", async () => {
      await legacy("l3");
      assert.equal(await store.markAllRead("l3", "client"), 6);
      const mark = await markOf("l3");
      assert.equal(mark.seq, 10);
      assert.equal(mark.chunks?.[0]?.bits, 3, "the chunk reaches above the mark: its count is kept");
      await fillStream(store, "user:l3", 2);
      assert.equal((await store.list("l3", "client")).unreadCount, 2);
    });
  });
});

Deno.test("read marks: concurrent read-alls and reads on two KV handles count every unread exactly once", async () => {
  const dir = await Deno.makeTempDir();
  const handles = [await openKv(`${dir}/kv.sqlite`), await openKv(`${dir}/kv.sqlite`)];
  try {
    const [a, b] = handles.map((kv) => createNotificationStore(kv, { ttlMs: 86_400_000 }));
    const ids = [...await fillStream(a, "all", 120), ...await fillStream(a, "user:c1", 30)];
    const updated = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => [a, b][i % 2].markAllRead("c1", "client")),
      ...ids.slice(0, 40).map((id, i) => [a, b][i % 2].markRead("c1", "client", id).then(() => 0)),
      fillStream(b, "all", 25).then(() => 0),
    ]);
    const last = await a.markAllRead("c1", "client");
    // Each unread notification was counted by exactly one read-all, or read one at a time before it.
    const total = updated.reduce((sum, n) => sum + n, 0) + last;
    const readOneByOne = 150 + 25 - total;
    assert.ok(readOneByOne >= 0 && readOneByOne <= 40, `read one by one: ${readOneByOne}`);
    assert.equal((await a.list("c1", "client")).unreadCount, 0);
    assert.ok([...(await readStates(b, "c1", "client")).values()].every(Boolean));
  } finally {
    for (const kv of handles) kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

type Op =
  | { kind: "append"; stream: "user:p1" | "all"; count: number }
  | { kind: "read"; pick: number }
  | { kind: "readAll" }
  | { kind: "tick"; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("append" as const),
    stream: fc.constantFrom("user:p1" as const, "all" as const),
    count: fc.integer({ min: 1, max: 12 }),
  }),
  fc.record({ kind: fc.constant("read" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("read" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("readAll" as const) }),
  fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 4000 }) }),
);

Deno.test("read marks: against a model, a notification shows read only if read, and the unread count is exact", async () => {
  const TTL = 10_000;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 30 }), async (ops) => {
      await withStore(TTL, async (store, kv, clock) => {
        // Start near the end of the first read bitmap chunk, so that reads fall on both sides of it (the
        // notifications before were written, expired and deleted).
        await kv.set(["stream_heads", "user:p1"], 8185);
        const all: StoredNotification[] = [];
        const read = new Set<string>();
        const live = (n: StoredNotification) => Date.parse(n.createdAt) + TTL > clock.now;
        for (const step of ops) {
          if (step.kind === "append") {
            const drafts = Array.from({ length: step.count }, (_, i) => ({
              stream: step.stream,
              type: "system_announcement" as const,
              title: `n${i}`,
              message: "m",
              data: {},
            }));
            all.push(...(await store.append(drafts)).notifications);
          } else if (step.kind === "read" && all.length) {
            const n = all[step.pick % all.length];
            assert.equal(await store.markRead("p1", "client", n.id), live(n));
            if (live(n)) read.add(n.id);
          } else if (step.kind === "readAll") {
            const unread = all.filter((n) => live(n) && !read.has(n.id)).length;
            assert.equal(await store.markAllRead("p1", "client"), unread);
            for (const n of all) read.add(n.id);
          } else if (step.kind === "tick") {
            clock.now += step.ms;
          }
          const expectedUnread = all.filter((n) => live(n) && !read.has(n.id)).map((n) => n.id).sort();
          const shown = await readStates(store, "p1", "client");
          assert.equal(shown.size, all.filter(live).length);
          for (const n of all.filter(live)) {
            assert.equal(shown.get(n.id), read.has(n.id), `seq ${n.seq} of ${n.stream}`);
          }
          const unreadPages = await readStates(store, "p1", "client", true);
          assert.deepEqual([...unreadPages.keys()].sort(), expectedUnread);
          assert.equal((await store.list("p1", "client", { limit: 1 })).unreadCount, expectedUnread.length);
        }
      });
    }),
    { numRuns: 25 },
  );
});
