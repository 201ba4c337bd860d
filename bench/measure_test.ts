import assert from "node:assert/strict";
import { settledRssPerSocketKb } from "./measure.mjs";
import { sampleTree } from "./proc.mjs";

Deno.test("settledRssPerSocketKb() reads a real process once a second over the window", async () => {
  const before = sampleTree(Deno.pid);
  const since = performance.now();
  // Memory taken after `before` and held through the window: every reading sees it.
  const held = new Uint8Array(8 << 20).fill(1);
  const settled = await settledRssPerSocketKb(Deno.pid, before, 1, since, { fromMs: 0, untilMs: 2_000 });
  const tookMs = performance.now() - since;
  assert.ok(held[held.length - 1] === 1);
  assert.ok(tookMs >= 2_000, `three readings a second apart, the last 2 s in; took ${tookMs} ms`);
  const { lowest, median, highest } = settled;
  assert.ok(lowest !== null && median !== null && highest !== null);
  assert.ok(lowest <= median && median <= highest);
  assert.ok(lowest >= 8 * 1024, `the 8 MiB held shows in every reading: ${lowest} KiB`);
});
