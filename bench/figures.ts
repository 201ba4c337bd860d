/**
 * Figures the bench derives from two workloads' figures rather than measures once, shared by the figures
 * table (bench/report.ts) and the targets (bench/verdicts.ts).
 */
import type { TargetResults } from "./report.ts";

/**
 * Steady CPU per frame less its event's share: the events workload's CPU per event spread over the frames a
 * steady event makes (one per socket), taken off the steady figure. The events workload publishes at the steady
 * rate for the steady window with no socket attached, so the two differ only in the sockets: what each event
 * costs once (signature, schema, durable commit, relay) and what the process spends idle are left out. What
 * remains is the frames' CPU and the work an event costs only once it has sockets to reach (its frame built,
 * its fan-out run): at 10 sockets the steady workload took more CPU than the events workload on both sides,
 * far beyond its frames' worth (bench/RESULTS.md, issue 13, "the steady per-frame gap measured again").
 */
export function steadyLessEventShare(r: TargetResults): number | null {
  const frame = r.steady?.cpuUsPerFrame;
  const event = r.events?.cpuUsPerEvent;
  const sockets = r.steady?.sockets;
  if (typeof frame !== "number" || typeof event !== "number" || !sockets) return null;
  return Math.round((frame - event / sockets) * 100) / 100;
}
