import assert from "node:assert/strict";
import { type BatchedWritesOptions, createBatchedWrites, type WriteBatch } from "./batched_writes.ts";

/**
 * Batched writes into a real in-memory KV, with `gather()` as a gate the test opens: `release()` lets the
 * writes gathered so far go. `commits` is every batch in the order it was committed.
 */
async function harness(options: Partial<BatchedWritesOptions<string>> = {}) {
  const kv = await Deno.openKv(":memory:");
  const commits: WriteBatch<string>[] = [];
  const gates: (() => void)[] = [];
  const built: string[] = [];
  const writes = createBatchedWrites<string>({
    gather: () => new Promise<void>((resolve) => gates.push(resolve)),
    async commit(batch) {
      const op = kv.atomic();
      for (const [id, value] of batch.sets) op.set(["values", id], value);
      for (const id of batch.deletes) op.delete(["values", id]);
      await op.commit();
      commits.push(batch);
    },
    maxBatch: 500,
    ...options,
  });
  /** A value that notes when it is built. */
  const value = (id: string, text: string) => [id, () => (built.push(text), text)] as const;
  return {
    kv,
    writes,
    commits,
    built,
    value,
    /** Opens the gate the flush in progress waits at. */
    release() {
      const gate = gates.shift();
      assert.ok(gate, "no flush is waiting to gather");
      gate();
    },
    waiting: () => gates.length,
    stored: async (id: string) => (await kv.get<string>(["values", id])).value,
    [Symbol.dispose]: () => kv.close(),
  };
}

/** Whether `promise` settled by the time the microtasks and I/O queued so far have run. */
async function settledYet(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  return settled;
}

Deno.test("batchedWrites.set() commits nothing until gather() resolves, then every value in one commit", async () => {
  using t = await harness();
  const done = t.writes.set([t.value("a", "A"), t.value("b", "B")]);
  const more = t.writes.set([t.value("c", "C")]);
  assert.equal(await settledYet(done), false);
  assert.equal(t.commits.length, 0);
  assert.equal(await t.stored("a"), null);
  assert.deepEqual(t.built, [], "a value was built before its commit");
  t.release();
  await Promise.all([done, more]);
  assert.deepEqual(t.commits, [{ sets: [["a", "A"], ["b", "B"], ["c", "C"]], deletes: [] }]);
  assert.deepEqual([await t.stored("a"), await t.stored("b"), await t.stored("c")], ["A", "B", "C"]);
});

Deno.test("batchedWrites: the latest intent per id wins", async (t) => {
  await t.step("a later set replaces an earlier one, and only the latest is built", async () => {
    using h = await harness();
    const first = h.writes.set([h.value("a", "old")]);
    const second = h.writes.set([h.value("a", "new")]);
    h.release();
    await Promise.all([first, second]);
    assert.deepEqual(h.commits, [{ sets: [["a", "new"]], deletes: [] }]);
    assert.deepEqual(h.built, ["new"]);
  });

  await t.step("a delete of a value never committed cancels it: no commit, nothing built", async () => {
    using h = await harness();
    const set = h.writes.set([h.value("a", "A")]);
    const deleted = h.writes.delete("a");
    // Nothing is left to write, yet a flush was already gathering: both resolve once it has found nothing.
    h.release();
    await Promise.all([set, deleted]);
    assert.deepEqual(h.commits, []);
    assert.deepEqual(h.built, []);
  });

  await t.step("a delete of an id never written resolves at once and starts no flush", async () => {
    using h = await harness();
    assert.equal(await settledYet(h.writes.delete("never")), true);
    assert.equal(h.waiting(), 0);
    assert.deepEqual(h.commits, []);
  });

  await t.step("a delete of a committed value is committed", async () => {
    using h = await harness();
    const set = h.writes.set([h.value("a", "A")]);
    h.release();
    await set;
    const deleted = h.writes.delete("a");
    h.release();
    await deleted;
    assert.deepEqual(h.commits.at(-1), { sets: [], deletes: ["a"] });
    assert.equal(await h.stored("a"), null);
    // Deleted for good: deleting it again is no write.
    assert.equal(await settledYet(h.writes.delete("a")), true);
    assert.equal(h.commits.length, 2);
  });
});

Deno.test("batchedWrites: intents queued during a commit go in the next one, and set() waits for it", async () => {
  // Each commit stays in flight until the test finishes it; `entered` announces the next one.
  const commits: WriteBatch<string>[] = [];
  let finish = () => {};
  let entered = Promise.withResolvers<void>();
  using t = await harness({
    commit(batch) {
      commits.push(batch);
      const { promise, resolve } = Promise.withResolvers<void>();
      finish = resolve;
      entered.resolve();
      return promise;
    },
  });
  const first = t.writes.set([t.value("a", "A")]);
  t.release();
  await entered.promise;
  entered = Promise.withResolvers<void>();
  // The commit of "a" is in flight: "b" waits for it, then goes without gathering again.
  const second = t.writes.set([t.value("b", "B")]);
  finish();
  await entered.promise;
  assert.equal(t.waiting(), 0, "the second commit gathered again");
  assert.equal(
    await settledYet(first),
    false,
    "set() resolved while intents queued after it were not stored",
  );
  finish();
  await Promise.all([first, second]);
  assert.deepEqual(commits, [{ sets: [["a", "A"]], deletes: [] }, { sets: [["b", "B"]], deletes: [] }]);
});

Deno.test("batchedWrites: a commit carries at most maxBatch intents, in the order they were queued", async () => {
  using t = await harness({ maxBatch: 3 });
  const ids = ["a", "b", "c", "d", "e", "f", "g"];
  const done = t.writes.set(ids.map((id) => t.value(id, id.toUpperCase())));
  t.release();
  await done;
  assert.deepEqual(t.commits.map((c) => c.sets.map(([id]) => id)), [["a", "b", "c"], ["d", "e", "f"], ["g"]]);
});

Deno.test("batchedWrites: a failed commit rejects its writers, and the next write commits", async () => {
  let fail = true;
  const kv = await Deno.openKv(":memory:");
  try {
    const gates: (() => void)[] = [];
    const writes = createBatchedWrites<string>({
      gather: () => new Promise<void>((resolve) => gates.push(resolve)),
      async commit(batch) {
        if (fail) throw new Error("Store unavailable");
        const op = kv.atomic();
        for (const [id, value] of batch.sets) op.set(["values", id], value);
        await op.commit();
      },
      maxBatch: 500,
    });
    const failed = writes.set([["a", () => "A"]]);
    gates.shift()!();
    await assert.rejects(failed, /Store unavailable/);
    fail = false;
    const next = writes.set([["b", () => "B"]]);
    assert.equal(gates.length, 1, "the next write started no flush");
    gates.shift()!();
    await next;
    assert.equal((await kv.get(["values", "b"])).value, "B");
  } finally {
    kv.close();
  }
});
