import assert from "node:assert/strict";
import type { AllResults } from "./report.ts";
import { targetVerdicts, type Verdict } from "./verdicts.ts";

/** One full run's results, as bench/loadgen.mjs reports them, with every target met. */
function fullRun(): AllResults {
  const places = { leaked: 0, byUser: 0, byIp: 0, freeAfterMs: 600 };
  return {
    service: {
      idle: { attempted: 10_000, sockets: 10_000, rssPerSocketKb: 20 },
      fanout: { framesPerSecond: 100_000, cpuUsPerFrame: 9 },
      steady: { attempted: 1_000, sockets: 1_000, p99Ms: 22, cpuUsPerFrame: 12 },
      events: { cpuUsPerEvent: 3_000 },
      oneAddress: { attempted: 15_000, held: 15_000, perSecond: 1_800 },
      placesLeft: places,
    },
    service_limits_off: { limits: "off", oneAddress: { attempted: 15_000, held: 15_000, perSecond: 2_000 } },
    service_ip_limit_50: { burstAndClose: { limit: 50, held: 50, places } },
    service_ip_limit_2000: { burstAndClose: { limit: 2_000, held: 2_000, places } },
    bare_deno: {
      idle: { attempted: 10_000, sockets: 10_000, rssPerSocketKb: 18 },
      fanout: { framesPerSecond: 105_000, cpuUsPerFrame: 8 },
      steady: { attempted: 1_000, sockets: 1_000, p99Ms: 24, cpuUsPerFrame: 9 },
      events: { cpuUsPerEvent: 1_000 },
    },
    node_ws: { fanout: { framesPerSecond: 95_000 }, steady: { p99Ms: 19 } },
  };
}

const byFigure = (verdicts: Verdict[], words: string) => {
  const found = verdicts.find((v) => v.figure.includes(words));
  assert.ok(found, `a verdict on "${words}"`);
  return found;
};

Deno.test('targetVerdicts() judges every target of README "Benchmarks" from one run', () => {
  const verdicts = targetVerdicts(fullRun());
  assert.equal(verdicts.length, 12);
  assert.deepEqual(verdicts.filter((v) => v.met !== true && v.met !== "reported"), []);
  assert.equal(byFigure(verdicts, "limits on ÷ limits off").measured, "0.90× (1800 / 2000)");
  assert.equal(byFigure(verdicts, "per-IP limit 2,000").measured, "0 (all free 600 ms after the last close)");
});

Deno.test("targetVerdicts() sets the steady p99 against the better of bare Deno and ws", () => {
  const results = fullRun();
  const p99 = byFigure(targetVerdicts(results), "steady-load p99");
  assert.equal(p99.measured, "1.16× (22 / 19)");
  results.service!.steady.p99Ms = 24;
  assert.equal(byFigure(targetVerdicts(results), "steady-load p99").met, false);
});

Deno.test("targetVerdicts() judges steady per-frame work, each side less its own event's share, and reports the whole", () => {
  const verdicts = targetVerdicts(fullRun());
  const perFrame = byFigure(verdicts, "steady, less its event's share");
  assert.equal(perFrame.measured, "1.13× (9 / 8)", "(12 − 3,000 ÷ 1,000) ÷ (9 − 1,000 ÷ 1,000)");
  assert.equal(perFrame.met, true);
  const whole = byFigure(verdicts, "steady, its event's share included");
  assert.equal(whole.measured, "1.33× (12 / 9)");
  assert.equal(whole.met, "reported", "shown beside the target, judged by no goal");
});

Deno.test("targetVerdicts() judges the steady CPU by the median of the paired rounds' ratios", () => {
  const results = fullRun();
  const round = (cpuUsPerFrame: number, cpuUsPerEvent: number) => ({
    steady: { attempted: 1_000, sockets: 1_000, cpuUsPerFrame },
    events: { cpuUsPerEvent },
  });
  // Per-frame work 9, 12, 9.5 against 8, 8, 9.5: ratios 1.13, 1.5, 1 (the medians of each side would give 1.19).
  results.service!.rounds = [round(12, 3_000), round(15, 3_000), round(12.5, 3_000)];
  results.bare_deno!.rounds = [round(9, 1_000), round(9, 1_000), round(10.5, 1_000)];
  const perFrame = byFigure(targetVerdicts(results), "steady, less its event's share");
  assert.equal(perFrame.measured, "1.13×, median of 3 paired rounds (1.13×, 1.50×, 1.00×)");
  assert.equal(perFrame.met, true);
  const whole = byFigure(targetVerdicts(results), "steady, its event's share included");
  assert.equal(whole.measured, "1.33×, median of 3 paired rounds (1.33×, 1.67×, 1.19×)");
});

Deno.test("targetVerdicts() judges fan-out and settled RSS against bare Deno by the median of the paired rounds' ratios", () => {
  const results = fullRun();
  const round = (framesPerSecond: number, cpuUsPerFrame: number, rssPerSocketKb: number) => ({
    idle: { attempted: 10_000, sockets: 10_000, rssPerSocketKb },
    fanout: { framesPerSecond, cpuUsPerFrame },
  });
  results.service!.rounds = [round(90_000, 12, 21), round(60_000, 12, 24), round(80_000, 11, 20)];
  results.bare_deno!.rounds = [round(100_000, 10, 18), round(100_000, 10, 18), round(80_000, 10, 18)];
  const verdicts = targetVerdicts(results);
  const frames = byFigure(verdicts, "fan-out frames/s ÷ bare Deno");
  assert.equal(frames.measured, "0.90×, median of 3 paired rounds (0.90×, 0.60×, 1.00×)");
  assert.equal(frames.met, true);
  const cpu = byFigure(verdicts, "fan-out ÷ bare Deno");
  assert.equal(cpu.measured, "1.20×, median of 3 paired rounds (1.20×, 1.20×, 1.10×)");
  assert.equal(cpu.met, false);
  const rss = byFigure(verdicts, "RSS per socket");
  assert.equal(rss.measured, "1.17×, median of 3 paired rounds (1.17×, 1.33×, 1.11×)");
  assert.equal(rss.met, true);
  // Node `ws` runs once: its ratio is still one run's.
  assert.equal(byFigure(verdicts, "÷ Node `ws`").measured, "1.05× (100000 / 95000)");
});

Deno.test("targetVerdicts() judges the handshake ratio by the median of its paired rounds with the limits off", () => {
  const results = fullRun();
  const crowd = (perSecond: number) => ({ oneAddress: { attempted: 15_000, held: 15_000, perSecond } });
  results.service!.rounds = [crowd(700), crowd(900), crowd(400)];
  results.service_limits_off!.rounds = [crowd(1_000), crowd(1_000), crowd(600)];
  const ratio = byFigure(targetVerdicts(results), "limits on ÷ limits off");
  assert.equal(ratio.measured, "0.70×, median of 3 paired rounds (0.70×, 0.90×, 0.67×)");
  assert.equal(ratio.met, false);
});

Deno.test("targetVerdicts() rounds a ratio as shown before holding it against its bound", () => {
  const results = fullRun();
  results.service!.oneAddress.perSecond = 1_599; // 0.7995 shows as 0.80×, which meets ≥ 0.8
  assert.equal(byFigure(targetVerdicts(results), "limits on ÷ limits off").met, true);
  results.service!.oneAddress.perSecond = 1_589;
  assert.equal(byFigure(targetVerdicts(results), "limits on ÷ limits off").met, false);
});

Deno.test("targetVerdicts() cannot tell from a quick run or a missing figure", () => {
  const results = fullRun();
  results.service!.oneAddress = { attempted: 2_000, held: 2_000, perSecond: 1_800 };
  delete results.node_ws;
  const verdicts = targetVerdicts(results);
  const held = byFigure(verdicts, "sockets held from one address");
  assert.equal(held.met, null);
  assert.equal(held.measured, "2000 of 2000 (a quick run tries fewer)");
  assert.equal(byFigure(verdicts, "÷ Node `ws`").met, null);
  assert.equal(byFigure(verdicts, "steady-load p99").met, null);
});

Deno.test("targetVerdicts() fails leaked places, and judges nothing over idle sockets not all held", () => {
  const results = fullRun();
  results.service_ip_limit_2000!.burstAndClose.places = {
    leaked: 977,
    byUser: 141,
    byIp: 836,
    freeAfterMs: null,
    waitedMs: 20_300,
  };
  results.service!.idle.sockets = 862;
  const verdicts = targetVerdicts(results);
  const leaked = byFigure(verdicts, "per-IP limit 2,000");
  assert.equal(leaked.met, false);
  assert.equal(leaked.measured, "977 (141 by user, 836 by IP) still taken 20 s after the last close");
  const rss = byFigure(verdicts, "RSS per socket");
  assert.match(rss.measured, /^1\.11× \(20 \/ 18\); service held 862 of 10000$/);
  assert.equal(rss.met, null);
  assert.equal(byFigure(verdicts, "fan-out ÷ bare Deno").met, null);
  assert.equal(byFigure(verdicts, "steady, less its event's share").met, true);
  assert.doesNotMatch(byFigure(verdicts, "limits on ÷ limits off").measured, /held/);
});

Deno.test("targetVerdicts() judges nothing from a steady load the service held only part of", () => {
  const results = fullRun();
  Object.assign(results.service!.steady, { attempted: 1_000, sockets: 126 });
  const verdicts = targetVerdicts(results);
  assert.equal(byFigure(verdicts, "steady-load p99").met, null);
  assert.equal(byFigure(verdicts, "steady, less its event's share").met, null);
  assert.equal(byFigure(verdicts, "fan-out ÷ bare Deno").met, true);
});
