import assert from "node:assert/strict";
import fc from "fast-check";
import { createStreamPositions } from "./positions.ts";

Deno.test("positions.accept() answers new in order, gap past a hole, duplicate at or below the position or already ahead", () => {
  const positions = createStreamPositions();
  assert.equal(positions.accept("all", 1), "new");
  assert.equal(positions.get("all"), 1);
  assert.equal(positions.accept("all", 3), "gap");
  assert.equal(positions.get("all"), 1, "a gap does not move the position");
  assert.equal(positions.accept("all", 3), "duplicate", "already waiting ahead");
  assert.equal(positions.accept("all", 1), "duplicate", "at the position");
  assert.equal(positions.accept("all", 2), "new");
  assert.equal(positions.get("all"), 3, "filling the hole takes in what waited ahead");
  assert.equal(positions.accept("all", 2), "duplicate", "below the position");
  assert.equal(positions.accept("all", 4), "new");
  assert.equal(positions.accept("user:u1", 1), "new", "streams are counted apart");
  assert.deepEqual(positions.snapshot(), { all: 4, "user:u1": 1 });
});

Deno.test("positions.raise() takes the server's word: the position jumps, drops what it covers, never goes back", async (t) => {
  const positions = createStreamPositions();
  positions.accept("all", 1);
  positions.accept("all", 3);
  positions.accept("all", 5);
  positions.accept("all", 7);

  await t.step("raised to 4: the position jumps to 4, and on to 5, which waited right after it", () => {
    positions.raise({ all: 4 });
    assert.equal(positions.get("all"), 5);
    assert.equal(positions.accept("all", 3), "duplicate");
    assert.equal(positions.accept("all", 7), "duplicate", "7 still waits ahead");
    assert.equal(positions.accept("all", 6), "new");
    assert.equal(positions.get("all"), 7);
  });

  await t.step("raised below the position: nothing moves", () => {
    positions.raise({ all: 2 });
    assert.equal(positions.get("all"), 7);
  });

  await t.step("a stream first heard of in a welcome starts at the server's position, 0 included", () => {
    assert.equal(positions.has("user:u1"), false);
    assert.equal(positions.get("user:u1"), undefined);
    positions.raise({ "user:u1": 0, "role:admin": 12 });
    assert.equal(positions.has("user:u1"), true);
    assert.deepEqual(positions.snapshot(), { all: 7, "user:u1": 0, "role:admin": 12 });
    assert.equal(positions.accept("role:admin", 12), "duplicate");
    assert.equal(positions.accept("role:admin", 13), "new");
  });
});

Deno.test("positions.reset() starts a stream over from the server's head, forgetting what waited ahead", () => {
  const positions = createStreamPositions();
  positions.accept("all", 1);
  positions.accept("all", 2);
  positions.accept("all", 9);
  positions.reset("all", 0);
  assert.equal(positions.get("all"), 0);
  assert.equal(positions.accept("all", 1), "new");
  assert.equal(positions.accept("all", 9), "gap", "9 waited ahead of the old store, not of this one");
  assert.equal(positions.get("all"), 1);
});

Deno.test("positions: however seqs 1..n arrive, repeated and out of order, each is taken once and the position ends at n", () => {
  const arrivals = fc.integer({ min: 1, max: 40 }).chain((n) =>
    fc.tuple(
      fc.constant(n),
      fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i + 1), { minLength: n }),
      fc.array(fc.integer({ min: 1, max: n }), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 20 }),
    )
  );
  fc.assert(
    fc.property(arrivals, ([n, order, repeats, at]) => {
      const seqs = [...order];
      repeats.forEach((seq, i) => seqs.splice((at[i] ?? 0) % (seqs.length + 1), 0, seq));
      const positions = createStreamPositions();
      const taken: number[] = [];
      for (const seq of seqs) {
        const before = positions.get("all") ?? 0;
        const verdict = positions.accept("all", seq);
        if (verdict !== "duplicate") taken.push(seq);
        assert.equal(verdict === "new", seq === before + 1, `seq ${seq} at position ${before}: ${verdict}`);
      }
      assert.deepEqual(taken.toSorted((a, b) => a - b), Array.from({ length: n }, (_, i) => i + 1));
      assert.equal(positions.get("all"), n);
    }),
  );
});
