import assert from "node:assert/strict";
import { openKv } from "./kv.ts";
import { createNotificationStore, type NotificationDraft } from "./notifications.ts";

const draft = (n: number): NotificationDraft => ({
  stream: "all",
  type: "system_announcement",
  title: `Announcement ${n}`,
  message: "m",
  data: { n },
});

/** Runs `body` with two KV handles on one temporary file, as two isolates sharing a store have. */
async function withTwoHandles(body: (a: Deno.Kv, b: Deno.Kv) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const [a, b] = [await openKv(`${dir}/kv.sqlite`), await openKv(`${dir}/kv.sqlite`)];
  try {
    await body(a, b);
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("store.append() keeps seq gap-free when two KV handles write one stream at once", async () => {
  await withTwoHandles(async (a, b) => {
    const stores = [a, b].map((kv) => createNotificationStore(kv, { ttlMs: 86_400_000 }));
    const writes = Array.from({ length: 60 }, (_, i) => stores[i % 2].append([draft(i)]));
    const seqs = (await Promise.all(writes)).map((r) => r.notifications[0].seq);
    assert.deepEqual([...seqs].sort((x, y) => x - y), Array.from({ length: 60 }, (_, i) => i + 1));
    const stored = await stores[0].range("all", 0);
    assert.equal(stored.length, 60);
    assert.deepEqual(stored.map((n) => n.seq), Array.from({ length: 60 }, (_, i) => i + 1));
    assert.equal(new Set(stored.map((n) => n.data.n)).size, 60);
  });
});

Deno.test("store.append() with a webhook id stores once; the replay is a duplicate", async () => {
  const kv = await openKv(":memory:");
  try {
    const store = createNotificationStore(kv, { ttlMs: 86_400_000 });
    const results = await Promise.all([store.append([draft(1)], "wh-1"), store.append([draft(1)], "wh-1")]);
    assert.deepEqual(results.map((r) => r.duplicate).sort(), [false, true]);
    assert.equal((await store.range("all", 0)).length, 1);
  } finally {
    kv.close();
  }
});

Deno.test("store.append() trusts the heads it knows only as far as their versionstamps", async (t) => {
  await withTwoHandles(async (a, b) => {
    const [first, second] = [a, b].map((kv) => createNotificationStore(kv, { ttlMs: 86_400_000 }));
    await t.step("each store writes after the other in turn: seq goes on from the other's head", async () => {
      const seqs = [];
      for (let i = 0; i < 6; i++) {
        seqs.push((await [first, second][i % 2].append([draft(i)], `turn-${i}`)).notifications[0].seq);
      }
      assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6]);
    });
    await t.step(
      "a webhook id stored by the other store is a duplicate, even with the heads known",
      async () => {
        await first.append([draft(7)]);
        const replay = await first.append([draft(1)], "turn-1");
        assert.deepEqual(replay, { duplicate: true, notifications: [] });
        const again = await second.append([draft(6)], "turn-0");
        assert.equal(again.duplicate, true);
      },
    );
    await t.step("nothing was stored twice and no seq was skipped", async () => {
      assert.deepEqual((await first.range("all", 0)).map((n) => n.seq), [1, 2, 3, 4, 5, 6, 7]);
      assert.equal((await second.append([draft(8)])).notifications[0].seq, 8);
    });
  });
});

Deno.test("store.noteHead() lets a store append after another's commit without reading", async (t) => {
  await withTwoHandles(async (a, b) => {
    let reads = 0;
    // The second store's KV, counting reads: a store that knows the exact head needs none.
    const counted = new Proxy(b, {
      get(target, key) {
        const value = Reflect.get(target, key);
        if (typeof value !== "function") return value;
        return key === "get" || key === "getMany"
          ? (...args: unknown[]) => (reads++, value.apply(target, args))
          : value.bind(target);
      },
    });
    const first = createNotificationStore(a, { ttlMs: 86_400_000 });
    const second = createNotificationStore(counted, { ttlMs: 86_400_000 });
    await second.append([draft(0)]);
    const written = await first.append([draft(1)], "wh-a");
    await t.step("the commit reports the exact head it wrote", () => {
      const head = written.heads?.get("all");
      assert.equal(head?.seq, 2);
      assert.match(head?.versionstamp ?? "", /^[0-9a-f]{20}$/);
    });
    await t.step("told of it (as the relay tells), the other store appends seq 3 with no read", async () => {
      second.noteHead("all", written.heads!.get("all")!);
      reads = 0;
      const next = await second.append([draft(2)], "wh-b");
      assert.equal(next.notifications[0].seq, 3);
      assert.equal(reads, 0);
    });
    await t.step("an older or malformed head changes nothing, and seq stays gap-free", async () => {
      second.noteHead("all", written.heads!.get("all")!);
      second.noteHead("all", { seq: 99, versionstamp: "not-a-versionstamp" });
      assert.equal((await second.append([draft(3)])).notifications[0].seq, 4);
      assert.deepEqual((await first.range("all", 0)).map((n) => n.seq), [1, 2, 3, 4]);
    });
  });
});

Deno.test("store.range() skips notifications past their TTL (KV expiry is lazy)", async () => {
  const kv = await openKv(":memory:");
  let now = Date.parse("2026-11-01T00:00:00Z");
  try {
    const store = createNotificationStore(kv, { ttlMs: 1000, now: () => now });
    await store.append([draft(1)]);
    now += 500;
    await store.append([draft(2)]);
    now += 700;
    assert.deepEqual((await store.range("all", 0)).map((n) => n.seq), [2]);
    assert.equal(await store.byId((await store.append([draft(3)])).notifications[0].id) !== null, true);
  } finally {
    kv.close();
  }
});
