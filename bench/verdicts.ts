/**
 * The bench's targets (README "Benchmarks", Targets), judged from one run's results: each one the ratio or
 * the count the target names, and whether it is met. Steady-load targets against `ws` alone would sit below
 * the runtime's own floor: per-frame work is judged against bare Deno, per-event work is reported on its own
 * (the events workload), and the steady CPU with each event's share left in is shown beside its target,
 * reported and judged by none. The machine is shared, so a verdict is one run's, never a test's assertion.
 */
import { steadyLessEventShare } from "./figures.ts";
import type { AllResults, TargetResults } from "./report.ts";
import { pairedRatios } from "./rounds.ts";
import type { TargetName } from "./targets.ts";

export interface Verdict {
  figure: string;
  goal: string;
  /** What this run measured, e.g. `0.93× (93451 / 100311)`. */
  measured: string;
  /**
   * Null when this run cannot tell: a figure is missing, the service held fewer sockets than the workload
   * asked (so not the peers' workload), or a quick run tried fewer sockets than the goal. `"reported"` for a
   * figure shown beside a target for the reader, which no goal judges.
   */
  met: boolean | null | "reported";
}

/** Sockets one service process must hold from one address (per-IP limit 20,000). */
const SOCKETS_FROM_ONE_ADDRESS = 15_000;

interface RatioTarget {
  figure: string;
  goal: string;
  bound: { atLeast: number } | { atMost: number } | "reported";
  /** The service's figure and the one it is set against. */
  ours(r: AllResults): unknown;
  theirs(r: AllResults): unknown;
  /**
   * The service's side of a paired ratio (bench/rounds.ts) against `against`'s, round by round: when both
   * have rounds, the ratio judged is the median of the rounds' ratios, not `ours` ÷ `theirs` (each side's
   * median).
   */
  paired?: { against: TargetName; figure: (round: TargetResults) => number | null | undefined };
  /**
   * The service's workload whose sockets the figure is measured over (`idle` also for the fan-out to them):
   * had it held fewer than it was asked to, the figure would not measure the peers' workload.
   */
  heldIn?: "idle" | "steady";
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));

/** The better (lower) steady p99 of bare Deno and `ws`, once both were measured. */
function betterPeerP99(r: AllResults) {
  const both = [r.bare_deno?.steady?.p99Ms, r.node_ws?.steady?.p99Ms].map(num);
  return both.every((v) => v !== undefined) ? Math.min(...both as number[]) : undefined;
}

const RATIOS: RatioTarget[] = [
  {
    figure: "authenticated handshakes/s from one address, limits on ÷ limits off",
    goal: "≥ 0.8",
    bound: { atLeast: 0.8 },
    ours: (r) => r.service?.oneAddress?.perSecond,
    theirs: (r) => r.service_limits_off?.oneAddress?.perSecond,
    paired: { against: "service_limits_off", figure: (round) => round.oneAddress?.perSecond },
  },
  {
    figure: "fan-out frames/s ÷ Node `ws`",
    goal: "≥ 1.0×",
    bound: { atLeast: 1.0 },
    ours: (r) => r.service?.fanout?.framesPerSecond,
    theirs: (r) => r.node_ws?.fanout?.framesPerSecond,
    heldIn: "idle",
  },
  {
    figure: "fan-out frames/s ÷ bare Deno",
    goal: "≥ 0.9×",
    bound: { atLeast: 0.9 },
    ours: (r) => r.service?.fanout?.framesPerSecond,
    theirs: (r) => r.bare_deno?.fanout?.framesPerSecond,
    paired: { against: "bare_deno", figure: (round) => round.fanout?.framesPerSecond },
    heldIn: "idle",
  },
  {
    figure: "server CPU per delivered frame, fan-out ÷ bare Deno",
    goal: "≤ 1.15×",
    bound: { atMost: 1.15 },
    ours: (r) => r.service?.fanout?.cpuUsPerFrame,
    theirs: (r) => r.bare_deno?.fanout?.cpuUsPerFrame,
    paired: { against: "bare_deno", figure: (round) => round.fanout?.cpuUsPerFrame },
    heldIn: "idle",
  },
  {
    // Per-frame work: each side's steady CPU per frame less its own event's share, measured at the same rate.
    figure: "server CPU per delivered frame, steady, less its event's share ÷ bare Deno",
    goal: "≤ 1.15×",
    bound: { atMost: 1.15 },
    ours: (r) => r.service && steadyLessEventShare(r.service),
    theirs: (r) => r.bare_deno && steadyLessEventShare(r.bare_deno),
    paired: { against: "bare_deno", figure: steadyLessEventShare },
    heldIn: "steady",
  },
  {
    // The same with each event's signature, schema, durable commit and relay spread over its 1,000 frames.
    figure: "server CPU per delivered frame, steady, its event's share included ÷ bare Deno",
    goal: "reported",
    bound: "reported",
    ours: (r) => r.service?.steady?.cpuUsPerFrame,
    theirs: (r) => r.bare_deno?.steady?.cpuUsPerFrame,
    paired: { against: "bare_deno", figure: (round) => round.steady?.cpuUsPerFrame },
    heldIn: "steady",
  },
  {
    figure: "steady-load p99, webhook → frame ÷ the better of bare Deno and `ws`",
    goal: "≤ 1.25×",
    bound: { atMost: 1.25 },
    ours: (r) => r.service?.steady?.p99Ms,
    theirs: betterPeerP99,
    heldIn: "steady",
  },
  {
    figure: "RSS per socket, settled (median of readings 20–50 s after opening) ÷ bare Deno",
    goal: "≤ 1.2×",
    bound: { atMost: 1.2 },
    ours: (r) => r.service?.idle?.rssPerSocketKb,
    theirs: (r) => r.bare_deno?.idle?.rssPerSocketKb,
    paired: { against: "bare_deno", figure: (round) => round.idle?.rssPerSocketKb },
    heldIn: "idle",
  },
];

/** `ours ÷ theirs`, rounded as shown, held against the target's bound. */
function ratio(target: RatioTarget, results: AllResults): Verdict {
  const { figure, goal, bound } = target;
  const { paired } = target;
  const rounds = paired && pairedRatios(results.service, results[paired.against], paired.figure);
  const a = num(target.ours(results));
  const b = num(target.theirs(results));
  if (!rounds && (a === undefined || !b)) return { figure, goal, measured: "n/a", met: null };
  const r = rounds ? rounds.median : Math.round((a! / b!) * 100) / 100;
  const measured = rounds
    ? `${r.toFixed(2)}×, median of ${rounds.each.length} paired rounds (${
      rounds.each.map((x) => `${x.toFixed(2)}×`).join(", ")
    })`
    : `${r.toFixed(2)}× (${fmt(a!)} / ${fmt(b!)})`;
  const workload = target.heldIn && results.service?.[target.heldIn];
  if (workload && workload.sockets < workload.attempted) {
    // Not the peers' workload: the ratio is shown, but it judges nothing.
    return {
      figure,
      goal,
      measured: `${measured}; service held ${workload.sockets} of ${workload.attempted}`,
      met: null,
    };
  }
  if (bound === "reported") return { figure, goal, measured, met: "reported" };
  return { figure, goal, measured, met: "atLeast" in bound ? r >= bound.atLeast : r <= bound.atMost };
}

/** Sockets held from one address; a quick run tries fewer than the goal, so it cannot tell. */
function heldFromOneAddress(crowd: TargetResults | undefined): Verdict {
  const figure = "sockets held from one address by one service process (per-IP limit 20,000)";
  const goal = `≥ ${SOCKETS_FROM_ONE_ADDRESS.toLocaleString("en-US")}`;
  if (!crowd) return { figure, goal, measured: "n/a", met: null };
  const measured = `${crowd.held} of ${crowd.attempted}`;
  return crowd.attempted < SOCKETS_FROM_ONE_ADDRESS
    ? { figure, goal, measured: `${measured} (a quick run tries fewer)`, met: null }
    : { figure, goal, measured, met: crowd.held >= SOCKETS_FROM_ONE_ADDRESS };
}

/** Places still taken after every socket closed, from `{leaked, byUser, byIp, freeAfterMs, waitedMs}`. */
function placesLeft(limit: string, places: TargetResults | undefined): Verdict {
  const figure = `places leaked after closing every socket, per-IP limit ${limit}`;
  if (!places) return { figure, goal: "0", measured: "n/a", met: null };
  const measured = places.leaked === 0
    ? `0 (all free ${places.freeAfterMs} ms after the last close)`
    : `${places.leaked} (${places.byUser} by user, ${places.byIp} by IP) still taken ${
      Math.round(places.waitedMs / 1000)
    } s after the last close`;
  return { figure, goal: "0", measured, met: places.leaked === 0 };
}

/** Every target of README "Benchmarks", judged from this run's results. */
export function targetVerdicts(results: AllResults): Verdict[] {
  return [
    heldFromOneAddress(results.service?.oneAddress),
    ...RATIOS.map((target) => ratio(target, results)),
    placesLeft("50", results.service_ip_limit_50?.burstAndClose?.places),
    placesLeft("2,000", results.service_ip_limit_2000?.burstAndClose?.places),
    placesLeft("20,000", results.service?.placesLeft),
  ];
}
