import assert from "node:assert/strict";
import { settledRssPerSocketKb } from "./measure.mjs";
import { sampleTree } from "./proc.mjs";

Deno.test("settledRssPerSocketKb() reads a real process once a second over the window", async () => {
  // A process of its own that takes 64 MiB and holds it: the test runner's own memory moves with other tests.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "const held = new Uint8Array(64 << 20).fill(1); setTimeout(() => held[0], 20_000);"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const before = sampleTree(child.pid);
    const since = performance.now();
    const settled = await settledRssPerSocketKb(child.pid, before, 1, since, {
      fromMs: 3_000,
      untilMs: 5_000,
    });
    const tookMs = performance.now() - since;
    assert.ok(tookMs >= 5_000, `three readings a second apart, the last 5 s in; took ${tookMs} ms`);
    const { lowest, median, highest } = settled;
    assert.ok(lowest !== null && median !== null && highest !== null);
    assert.ok(lowest <= median && median <= highest);
    assert.ok(lowest >= 64 * 1024, `the 64 MiB held shows in every reading: ${lowest} KiB`);
  } finally {
    child.kill();
    await child.status;
  }
});
