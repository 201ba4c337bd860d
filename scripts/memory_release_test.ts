import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { createLogger } from "../lib/log.ts";
import { createMemoryRelease } from "./memory_release.ts";

/** A release over workers that are asked to collect and answer when the test says; every step in `steps`. */
function releaseWith(workers: number[]) {
  const steps: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("debug", {}, (line) => lines.push(JSON.parse(line)));
  const release = createMemoryRelease(
    (worker) => {
      if (!workers.includes(worker)) return false;
      steps.push(`collect ${worker}`);
      return true;
    },
    () => (steps.push("trim"), true),
    log,
  );
  const given = () => lines.filter((l) => l.msg === "Memory given back after a burst of sockets");
  return { release, steps, given };
}

Deno.test("createMemoryRelease(): each worker collects in turn, one at a time, then the C heap is trimmed", async (t) => {
  await t.step("the next worker is asked only once the one before answered, and the trim comes last", () => {
    const { release, steps, given } = releaseWith([0, 1]);
    release.start([0, 1], 10_000);
    assert.deepEqual(steps, ["collect 0"]);
    release.collected(0, 240);
    assert.deepEqual(steps, ["collect 0", "collect 1"]);
    release.collected(1, 250);
    assert.deepEqual(steps, ["collect 0", "collect 1", "trim"]);
    assert.equal(given().length, 1);
    const [line] = given();
    assert.equal(line.level, "info");
    assert.deepEqual(line.collectMs, [240, 250]);
    assert.equal(line.openSockets, 10_000);
    assert.equal(line.trimmed, true);
    assert.equal(typeof line.trimMs, "number");
  });

  await t.step("a burst that settles while a release is under way does not start a second one", () => {
    const { release, steps } = releaseWith([0, 1]);
    release.start([0, 1], 10_000);
    release.start([0, 1], 12_000);
    release.collected(0, 100);
    release.collected(1, 100);
    assert.deepEqual(steps, ["collect 0", "collect 1", "trim"]);
  });

  await t.step("answers from a worker not asked, or twice, change nothing", () => {
    const { release, steps, given } = releaseWith([0, 1]);
    release.start([0, 1], 10_000);
    release.collected(1, 100);
    assert.deepEqual(steps, ["collect 0"]);
    release.collected(0, 100);
    release.collected(0, 100);
    assert.deepEqual(steps, ["collect 0", "collect 1"]);
    release.collected(1, 100);
    assert.equal(given().length, 1);
  });

  await t.step("a worker that is gone, or cannot collect, is passed over and the release goes on", () => {
    // Worker 1's slot is empty (restarting): it cannot be asked.
    const { release, steps, given } = releaseWith([0, 2]);
    release.start([0, 1, 2], 10_000);
    release.collected(0, null); // no --expose-gc
    assert.deepEqual(steps, ["collect 0", "collect 2"]);
    release.gone(2); // died while collecting
    assert.deepEqual(steps, ["collect 0", "collect 2", "trim"]);
    assert.deepEqual(given()[0].collectMs, [null, null, null]);
  });

  await t.step("a new release starts once the one before is done", () => {
    const { release, steps } = releaseWith([0]);
    release.start([0], 10_000);
    release.collected(0, 100);
    release.start([0], 0);
    release.collected(0, 100);
    assert.deepEqual(steps, ["collect 0", "trim", "collect 0", "trim"]);
  });

  await t.step("a cancelled release asks no one more and trims nothing", () => {
    const { release, steps, given } = releaseWith([0, 1]);
    release.start([0, 1], 10_000);
    release.cancel();
    release.collected(0, 100);
    assert.deepEqual(steps, ["collect 0"]);
    assert.equal(given().length, 0);
  });
});

Deno.test("createMemoryRelease(): a worker that never answers is passed over after 10 s, so a release never hangs", () => {
  const timers = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout"] });
  try {
    const { release, steps, given } = releaseWith([0, 1]);
    release.start([0, 1], 10_000);
    timers.tick(9_999);
    assert.deepEqual(steps, ["collect 0"]);
    timers.tick(1);
    assert.deepEqual(steps, ["collect 0", "collect 1"]);
    release.collected(0, 300); // too late: worker 1 is the one asked now
    release.collected(1, 200);
    assert.deepEqual(steps, ["collect 0", "collect 1", "trim"]);
    assert.deepEqual(given()[0].collectMs, [null, 200]);
    assert.equal(timers.countTimers(), 0, "no timer left behind");
  } finally {
    timers.uninstall();
  }
});
