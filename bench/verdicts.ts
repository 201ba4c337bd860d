/**
 * Issue 13's targets, judged from one run's results: each one the ratio or the count the issue names, and
 * whether it is met. These replace issue 7's targets, whose two steady-load targets against `ws` sat below
 * the runtime's own floor: per-frame work is judged against bare Deno, per-event work is reported on its own
 * (the events workload). The machine is shared, so a verdict is one run's, never a test's assertion.
 */
import type { AllResults, TargetResults } from "./report.ts";

export interface Verdict {
  figure: string;
  goal: string;
  /** What this run measured, e.g. `0.93× (93451 / 100311)`. */
  measured: string;
  /** Null when this run cannot tell: a figure is missing, or a quick run tried fewer sockets than the goal. */
  met: boolean | null;
}

/** Sockets one service process must hold from one address (per-IP limit 20,000). */
const SOCKETS_FROM_ONE_ADDRESS = 15_000;

const unknown = (figure: string, goal: string, why = "n/a"): Verdict => ({
  figure,
  goal,
  measured: why,
  met: null,
});
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));

/** `ours ÷ theirs`, rounded as shown, held against `bound` (at least it, or at most it). */
function ratio(
  figure: string,
  goal: string,
  ours: unknown,
  theirs: unknown,
  bound: { atLeast: number } | { atMost: number },
  caveat = "",
): Verdict {
  const a = num(ours);
  const b = num(theirs);
  if (a === undefined || !b) return unknown(figure, goal);
  const r = Math.round((a / b) * 100) / 100;
  const met = "atLeast" in bound ? r >= bound.atLeast : r <= bound.atMost;
  return { figure, goal, measured: `${r.toFixed(2)}× (${fmt(a)} / ${fmt(b)})${caveat}`, met };
}

/** When the service held fewer sockets than it was asked to, its figures are not the peers' workload. */
function heldCaveat(service: TargetResults | undefined): string {
  const idle = service?.idle;
  return idle && idle.sockets < idle.attempted ? `; service held ${idle.sockets} of ${idle.attempted}` : "";
}

/** Places still taken after every socket closed, from one run's `{leaked, byUser, byIp, freeAfterMs}`. */
function placesLeft(limit: string, places: TargetResults | undefined): Verdict {
  const figure = `places leaked after closing every socket, per-IP limit ${limit}`;
  if (!places) return unknown(figure, "0");
  const measured = places.leaked === 0
    ? `0 (all free ${places.freeAfterMs} ms after the last close)`
    : `${places.leaked} (${places.byUser} by user, ${places.byIp} by IP) still taken 20 s after`;
  return { figure, goal: "0", measured, met: places.leaked === 0 };
}

/** Every target of issue 13, judged from this run's results. */
export function targetVerdicts(results: AllResults): Verdict[] {
  const service = results.service;
  const bare = results.bare_deno;
  const ws = results.node_ws;
  const caveat = heldCaveat(service);
  const verdicts: Verdict[] = [];

  const crowdFigure = "sockets held from one address by one service process (per-IP limit 20,000)";
  const crowdGoal = `≥ ${SOCKETS_FROM_ONE_ADDRESS}`;
  const crowd = service?.oneAddress;
  if (!crowd) verdicts.push(unknown(crowdFigure, crowdGoal));
  else if (crowd.attempted < SOCKETS_FROM_ONE_ADDRESS) {
    verdicts.push(
      unknown(crowdFigure, crowdGoal, `${crowd.held} of ${crowd.attempted} (a quick run tries fewer)`),
    );
  } else {
    verdicts.push({
      figure: crowdFigure,
      goal: crowdGoal,
      measured: `${crowd.held} of ${crowd.attempted}`,
      met: crowd.held >= SOCKETS_FROM_ONE_ADDRESS,
    });
  }
  verdicts.push(ratio(
    "authenticated handshakes/s from one address, limits on ÷ limits off",
    "≥ 0.8",
    crowd?.perSecond,
    results.service_limits_off?.oneAddress?.perSecond,
    { atLeast: 0.8 },
  ));
  verdicts.push(ratio(
    "fan-out frames/s ÷ Node `ws`",
    "≥ 1.0×",
    service?.fanout?.framesPerSecond,
    ws?.fanout?.framesPerSecond,
    { atLeast: 1.0 },
    caveat,
  ));
  verdicts.push(ratio(
    "fan-out frames/s ÷ bare Deno",
    "≥ 0.9×",
    service?.fanout?.framesPerSecond,
    bare?.fanout?.framesPerSecond,
    { atLeast: 0.9 },
    caveat,
  ));
  for (const workload of ["fanout", "steady"]) {
    verdicts.push(ratio(
      `server CPU per delivered frame, ${workload === "fanout" ? "fan-out" : "steady"} ÷ bare Deno`,
      "≤ 1.15×",
      service?.[workload]?.cpuUsPerFrame,
      bare?.[workload]?.cpuUsPerFrame,
      { atMost: 1.15 },
      caveat,
    ));
  }
  const peerP99s = [bare?.steady?.p99Ms, ws?.steady?.p99Ms].map(num).filter((v) => v !== undefined);
  verdicts.push(ratio(
    "steady-load p99, webhook → frame ÷ the better of bare Deno and `ws`",
    "≤ 1.25×",
    service?.steady?.p99Ms,
    peerP99s.length === 2 ? Math.min(...peerP99s) : undefined,
    { atMost: 1.25 },
    caveat,
  ));
  verdicts.push(ratio(
    "RSS per socket ÷ bare Deno",
    "≤ 1.2×",
    service?.idle?.rssPerSocketKb,
    bare?.idle?.rssPerSocketKb,
    { atMost: 1.2 },
    caveat,
  ));
  verdicts.push(placesLeft("50", results.service_ip_limit_50?.burstAndClose?.places));
  verdicts.push(placesLeft("2,000", results.service_ip_limit_2000?.burstAndClose?.places));
  verdicts.push(placesLeft("20,000", service?.placesLeft));
  return verdicts;
}
