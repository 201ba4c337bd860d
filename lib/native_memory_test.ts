import assert from "node:assert/strict";
import {
  createBurstTrimmer,
  openNativeMemoryTrim,
  STILL_LOOKS,
  TRIM_AFTER_SOCKETS,
} from "./native_memory.ts";

Deno.test("openNativeMemoryTrim(): glibc's malloc_trim on this Linux machine, and it runs", () => {
  const trim = openNativeMemoryTrim();
  assert.ok(trim, "Linux with glibc and --allow-ffi has malloc_trim");
  // Freed native memory for it to find: buffers the runtime allocated and let go.
  for (let i = 0; i < 1_000; i++) new TextEncoder().encode("x".repeat(10_000));
  assert.equal(typeof trim(), "boolean");
});

Deno.test("createBurstTrimmer(): trims once a burst of sockets has settled, never while steady", async (t) => {
  let trims = 0;
  const trimmer = createBurstTrimmer(() => (trims++, true));

  await t.step("a steady process, or one short of a burst, never trims", () => {
    for (const open of [0, 10, 20, 20, 500, TRIM_AFTER_SOCKETS - 1, TRIM_AFTER_SOCKETS - 1]) {
      trimmer.look(open);
    }
    assert.equal(trims, 0);
  });

  /** Looks at a count that no longer moves, until just before the trim is due. */
  const holdStill = (open: number) => {
    for (let i = 1; i < STILL_LOOKS; i++) assert.equal(trimmer.look(open), false);
  };

  await t.step(
    "a burst of opens: nothing while it grows or has just stopped, one trim once it held still",
    () => {
      for (const open of [3_000, 6_000, 10_000]) assert.equal(trimmer.look(open), false);
      holdStill(10_010);
      assert.equal(trimmer.look(10_010), true);
      for (let i = 0; i < 3 * STILL_LOOKS; i++) trimmer.look(10_010);
      assert.equal(trims, 1);
    },
  );

  await t.step("a burst of closes trims too, once it has held still", () => {
    assert.equal(trimmer.look(4_000), false);
    assert.equal(trimmer.look(0), false);
    holdStill(0);
    assert.equal(trimmer.look(0), true);
    assert.equal(trims, 2);
  });
});
