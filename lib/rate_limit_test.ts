import assert from "node:assert/strict";
import { createFrameRateLimiter } from "./rate_limit.ts";

Deno.test("createFrameRateLimiter() allows the rate, limits past it, and is abusive past twice it", () => {
  let now = 0;
  const limiter = createFrameRateLimiter(10, () => now);
  const verdicts = Array.from({ length: 21 }, () => limiter.hit());
  assert.deepEqual(verdicts.slice(0, 10), Array(10).fill("ok"));
  assert.deepEqual(verdicts.slice(10, 20), Array(10).fill("limited"));
  assert.equal(verdicts[20], "abusive");
  now += 120_000;
  assert.equal(limiter.hit(), "ok");
});

Deno.test("createFrameRateLimiter() slides: the previous minute weighs in as it fades", () => {
  let now = 0;
  const limiter = createFrameRateLimiter(10, () => now);
  for (let i = 0; i < 10; i++) limiter.hit();
  now = 60_000 + 6_000; // 10% into the next minute: 90% of the previous 10 still count
  assert.equal(limiter.hit(), "ok"); // 9 + 1
  assert.equal(limiter.hit(), "limited"); // 9 + 2
  now = 60_000 + 54_000; // 90% in: only 1 of the previous 10 still counts
  assert.equal(limiter.hit(), "ok"); // 1 + 3
});
