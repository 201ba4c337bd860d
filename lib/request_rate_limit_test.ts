import assert from "node:assert/strict";
import { createRequestRateLimiter } from "./request_rate_limit.ts";

Deno.test("request rate limiter: a minute's budget at once, then one per 60/perMinute s, per key", () => {
  let now = 0;
  const limiter = createRequestRateLimiter({ perMinute: 6, now: () => now });
  for (let i = 0; i < 6; i++) assert.deepEqual(limiter.take("a"), { allowed: true, retryAfterSeconds: 0 });
  assert.deepEqual(limiter.take("a"), { allowed: false, retryAfterSeconds: 10 });
  assert.equal(limiter.take("b").allowed, true, "another key has its own budget");
  now += 4_000;
  assert.deepEqual(limiter.take("a"), { allowed: false, retryAfterSeconds: 6 });
  now += 6_000;
  assert.equal(limiter.take("a").allowed, true);
  assert.equal(limiter.take("a").allowed, false);
  now += 10 * 60_000;
  for (let i = 0; i < 6; i++) assert.equal(limiter.take("a").allowed, true, "refills to the cap, no more");
  assert.equal(limiter.take("a").allowed, false);
});

Deno.test("request rate limiter: holds at most maxKeys buckets, dropping the least recently used", () => {
  let now = 0;
  const limiter = createRequestRateLimiter({ perMinute: 2, maxKeys: 100, now: () => now });
  limiter.take("busy");
  limiter.take("busy");
  for (let i = 0; i < 1000; i++) {
    now += 1;
    limiter.take(`user-${i}`);
    if (i % 10 === 0) assert.equal(limiter.take("busy").allowed, false, "a used key stays known");
  }
  assert.equal(limiter.size(), 100);
});
