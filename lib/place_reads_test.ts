/**
 * What a batch reads, on real KV with two handles: a subject an isolate has never seen is assumed free and its
 * absence checked by the commit; when it was held elsewhere after all, the conflict is noticed, the counts read,
 * and the verdict is the right one.
 */
import assert from "node:assert/strict";
import { claimBurst, countOf, inAMinute, setUp, tally } from "./place_test_isolates.ts";

Deno.test("place reads: a user this isolate never saw costs no read", async () => {
  const setup = await setUp(1, { perUser: 3, perIp: 0 });
  const [isolate] = setup.isolates;
  try {
    const results = await claimBurst([isolate], 50);
    assert.deepEqual(tally(results), { ok: 50 });
    const { reads, assumed } = isolate.places.stats();
    assert.equal(reads, 0);
    assert.equal(assumed, 50);
    // Held here now, a user's count is read before it grows.
    assert.equal(await isolate.places.claim("again", "user-0", "10.0.0.1", inAMinute()), "ok");
    assert.equal(isolate.places.stats().reads, 1);
  } finally {
    await setup.close();
  }
});

Deno.test("place reads: a user held on another isolate is found, though assumed free", async () => {
  const setup = await setUp(2, { perUser: 1, perIp: 0 });
  const [a, b] = setup.isolates;
  try {
    assert.equal(await a.places.claim("a", "someone", "10.0.0.1", inAMinute()), "ok");
    assert.equal(await b.places.claim("b", "someone", "10.0.0.2", inAMinute()), "user_limit");
    const conflicts = b.places.stats().conflicts;
    assert.ok(conflicts > 0, "the absence that was assumed was never checked");
    // Seen held elsewhere, the user is read from now on: no second conflict.
    assert.equal(await b.places.claim("b2", "someone", "10.0.0.2", inAMinute()), "user_limit");
    assert.equal(b.places.stats().conflicts, conflicts);
    assert.equal(await countOf(setup.kv, "user", "someone"), 1);
  } finally {
    await setup.close();
  }
});

Deno.test("place reads: an assumption that fails while another isolate keeps moving a shared count is caught", async () => {
  // A limit too low for places ahead: every batch of either isolate checks the address's count.
  const setup = await setUp(2, { perUser: 1, perIp: 1000 });
  const [a, b] = setup.isolates;
  try {
    assert.equal(await a.places.claim("held", "someone", "10.0.0.1", inAMinute()), "ok");
    assert.equal(await b.places.claim("b0", "b-user", "10.0.0.1", inAMinute()), "ok");
    // The other isolate claims on the address all the while, so a conflict can look like its doing.
    const crowd = Array.from(
      { length: 400 },
      (_, i) => a.places.claim(`a${i}`, `user-${i}`, "10.0.0.1", inAMinute()),
    );
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => b.places.claim(`b${i + 1}`, "someone", "10.0.0.1", inAMinute())),
    );
    assert.deepEqual(tally(results), { user_limit: 5 });
    assert.deepEqual(tally(await Promise.all(crowd)), { ok: 400 });
    assert.equal(await countOf(setup.kv, "user", "someone"), 1);
    assert.equal(await countOf(setup.kv, "ip", "10.0.0.1"), 402);
  } finally {
    await setup.close();
  }
});
