import assert from "node:assert/strict";
import { BURST_SOCKETS, createBurstWatch, STILL_LOOKS } from "./burst_watch.ts";

Deno.test("createBurstWatch(): fires once a burst of sockets has settled, never while steady", async (t) => {
  const watch = createBurstWatch();
  let fired = 0;
  const look = (open: number) => {
    const settled = watch.settled(open);
    if (settled) fired++;
    return settled;
  };

  await t.step("a steady process, or one short of a burst, never fires", () => {
    for (const open of [0, 10, 20, 20, 500, BURST_SOCKETS - 1, BURST_SOCKETS - 1]) look(open);
    for (let i = 0; i < 2 * STILL_LOOKS; i++) look(BURST_SOCKETS - 1);
    assert.equal(fired, 0);
  });

  /** Looks at a count that no longer moves, until just before the burst counts as settled. */
  const holdStill = (open: number) => {
    for (let i = 1; i < STILL_LOOKS; i++) assert.equal(look(open), false);
  };

  await t.step(
    "a burst of opens: nothing while it grows or has just stopped, once when it held still",
    () => {
      for (const open of [3_000, 6_000, 10_000]) assert.equal(look(open), false);
      holdStill(10_010);
      assert.equal(look(10_010), true);
      for (let i = 0; i < 3 * STILL_LOOKS; i++) look(10_010);
      assert.equal(fired, 1);
    },
  );

  await t.step("a burst of closes fires too, once it has held still", () => {
    assert.equal(look(4_000), false);
    assert.equal(look(0), false);
    holdStill(0);
    assert.equal(look(0), true);
    assert.equal(fired, 2);
  });
});
