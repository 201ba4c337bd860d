import assert from "node:assert/strict";
import {
  backoffMs,
  commitWithRetry,
  isKvFailure,
  KV_RETRY,
  type KvRetryPolicy,
  KvUnavailableError,
  openKv,
  withKvRetry,
} from "./kv.ts";
import { createNotificationStore } from "./notifications.ts";

Deno.test("isKvFailure() tells store failures from request errors", async () => {
  const kv = await Deno.openKv(":memory:");
  kv.close();
  const closed = await kv.get(["x"]).catch((error) => error);
  assert.equal(isKvFailure(closed), true);
  assert.equal(isKvFailure(new Error("database or disk is full")), true);
  assert.equal(isKvFailure(new KvUnavailableError("gave up")), true);
  assert.equal(isKvFailure(new TypeError("Cannot read properties of undefined")), false);
  assert.equal(isKvFailure("database"), false);
});

/** A policy on a fake clock: sleeping moves the clock, so a budget of minutes runs in no time. */
function fakeClockPolicy(overrides: Partial<KvRetryPolicy> = {}) {
  let clock = 0;
  const pauses: number[] = [];
  const policy: KvRetryPolicy = {
    ...KV_RETRY,
    now: () => clock,
    sleep: (ms) => {
      pauses.push(ms);
      clock += ms;
      return Promise.resolve();
    },
    random: () => 0.1,
    ...overrides,
  };
  return { policy, pauses, elapsed: () => clock };
}

const locked = () => new TypeError("database is locked");

Deno.test("backoffMs() draws from a window that doubles up to the cap", () => {
  const windows = [1, 2, 3, 4, 8, 20, 2000].map((attempt) =>
    backoffMs(attempt, { ...KV_RETRY, random: () => 1 })
  );
  assert.deepEqual(windows, [4, 8, 16, 32, 500, 500, 500]);
  assert.equal(backoffMs(5, { ...KV_RETRY, random: () => 0 }), 0);
});

Deno.test("withKvRetry() outlasts a lock that stays for many attempts, and gives up only past its budget", async (t) => {
  await t.step("locked 100 times in a row, then free: the operation succeeds", async () => {
    const { policy, pauses } = fakeClockPolicy();
    let calls = 0;
    const value = await withKvRetry(
      () => ++calls <= 100 ? Promise.reject(locked()) : Promise.resolve("ok"),
      policy,
    );
    assert.equal(value, "ok");
    assert.equal(calls, 101);
    assert.equal(pauses.length, 100);
  });

  await t.step("locked for longer than the budget: KvUnavailableError, caused by the lock", async () => {
    const { policy, elapsed } = fakeClockPolicy();
    const error = await withKvRetry(() => Promise.reject(locked()), policy).catch((e) => e);
    assert.ok(error instanceof KvUnavailableError);
    assert.match(String(error.cause), /database is locked/);
    assert.ok(elapsed() <= KV_RETRY.budgetMs && elapsed() > KV_RETRY.budgetMs - KV_RETRY.capMs);
    assert.equal(isKvFailure(error), true);
  });

  await t.step("any other error is thrown at once", async () => {
    const { policy, pauses } = fakeClockPolicy();
    await assert.rejects(withKvRetry(() => Promise.reject(new RangeError("bad key")), policy), RangeError);
    assert.equal(pauses.length, 0);
  });
});

Deno.test("commitWithRetry() rebuilds after a lost check or a locked read or commit, within its budget", async (t) => {
  const kv = await Deno.openKv(":memory:");
  try {
    await t.step(
      "conflicts and locks in any order, 100 times: committed once, from a fresh build",
      async () => {
        const { policy } = fakeClockPolicy();
        let builds = 0;
        const result = await commitWithRetry(async () => {
          builds++;
          if (builds <= 100 && builds % 3 === 0) throw locked(); // a read inside build
          const entry = await kv.get<number>(["n"]);
          const op = kv.atomic().check(entry).set(["n"], (entry.value ?? 0) + 1);
          if (builds <= 100 && builds % 3 === 1) {
            await kv.set(["n"], (entry.value ?? 0) + 100); // another writer gets in first: ok false
          } else if (builds <= 100) {
            return {
              op: { commit: () => Promise.reject(locked()) } as unknown as Deno.AtomicOperation,
              result: 0,
            };
          }
          return { op, result: builds };
        }, policy);
        assert.equal(result, 101);
        const final = (await kv.get<number>(["n"])).value!;
        assert.equal(final % 100, 1, "the winning plan committed exactly once");
      },
    );

    await t.step("conflicting past the budget: KvUnavailableError", async () => {
      const { policy } = fakeClockPolicy();
      const error = await commitWithRetry(async () => {
        const entry = await kv.get<number>(["m"]);
        await kv.set(["m"], (entry.value ?? 0) + 1);
        return { op: kv.atomic().check(entry).set(["m"], -1), result: true };
      }, policy).catch((e) => e);
      assert.ok(error instanceof KvUnavailableError);
      assert.notEqual((await kv.get(["m"])).value, -1);
    });
  } finally {
    kv.close();
  }
});

Deno.test("store.append(): four KV handles hammering one stream hit 'database is locked' and stay gap-free", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kv_hammer_" });
  const handles = await Promise.all(Array.from({ length: 4 }, () => openKv(`${dir}/kv.sqlite`)));
  let lockedCommits = 0;
  /** The handle, with its commits' "database is locked" errors counted on their way to the retry loop. */
  const counting = (kv: Deno.Kv) =>
    new Proxy(kv, {
      get(target, key) {
        if (key !== "atomic") {
          const value = Reflect.get(target, key);
          return typeof value === "function" ? value.bind(target) : value;
        }
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () =>
            commit().catch((error) => {
              if (/database is locked/.test(String(error))) lockedCommits++;
              throw error;
            });
          return op;
        };
      },
    });
  try {
    const stores = handles.map((kv) => createNotificationStore(counting(kv), { ttlMs: 86_400_000 }));
    const total = 4 * 50;
    const writes = Array.from({ length: total }, (_, i) =>
      stores[i % 4].append([{
        stream: "all",
        type: "system_announcement",
        title: `Hammer ${i}`,
        message: "m",
        data: { i },
      }]));
    const seqs = (await Promise.all(writes)).map((r) => r.notifications[0].seq);
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    assert.ok(lockedCommits > 0, "the handles contended hard enough to hit 'database is locked'");
    assert.deepEqual([...seqs].sort((x, y) => x - y), expected);
    const stored = await stores[0].range("all", 0);
    assert.deepEqual(stored.map((n) => n.seq), expected);
    assert.equal(new Set(stored.map((n) => n.data.i)).size, total);
  } finally {
    for (const kv of handles) kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
