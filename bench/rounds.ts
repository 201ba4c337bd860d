/**
 * Paired rounds: the workloads behind the noisiest ratios, run by both sides of each ratio back to back, several
 * times. The shared machine's speed drifts over minutes (the whole profile of one run of the same code took
 * 20 % more CPU than another's, every function alike), which moved the steady CPU ratio between 1.04× and 1.38×
 * from run to run when each side was measured once; the handshake ratio sets two runs of the service against
 * each other, open to the same drift. Each round measures both sides of a ratio within a minute or two of each
 * other; a ratio is judged by its median over the rounds, and each side's figures in the table are medians of
 * its rounds.
 */
import type { TargetResults } from "./report.ts";
import type { TargetName } from "./targets.ts";

/** Rounds of each pair: an odd number, so that the median ratio is one round's. */
export const PAIRED_ROUNDS = 3;

interface Pair {
  /** The two sides, in the order they run within a round; the service's own run is one of them. */
  targets: readonly [TargetName, TargetName];
  /**
   * The workloads each side runs in each round instead of its main run (those of bench/targets.ts
   * `workloadsOf` it has), in order.
   */
  workloads: readonly string[];
  /** Workloads run after them in each round, and still in the main run too: each figure is the worst of all. */
  after?: readonly string[];
}

export const PAIRS: readonly Pair[] = [
  // Handshakes/s from one address, limits on ÷ off; the service then counts the places its crowd left, as its
  // main run does once its own workloads closed.
  { targets: ["service_limits_off", "service"], workloads: ["oneAddress"], after: ["placesLeft"] },
  // Fan-out frames/s and CPU per frame, settled RSS per socket, and steady CPU per frame with and without its
  // event's share (bench/figures.ts): every ratio of the service to bare Deno.
  { targets: ["service", "bare_deno"], workloads: ["idleAndFanOut", "steady", "events"] },
];

/** Whether a target runs `workload` in the paired rounds rather than in its main run. */
export const inRounds = (name: TargetName, workload: string) =>
  PAIRS.some((pair) => pair.targets.includes(name) && pair.workloads.includes(workload));

/** The workloads of `pair` a round runs. */
export const roundWorkloads = (pair: Pair) => [...pair.workloads, ...pair.after ?? []];

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Counts whose worst round is the one to report: sockets held (fewest), frames lost and places left (most). */
const FEWEST = new Set(["sockets", "held"]);
const MOST = new Set(["lost", "leaked", "byUser", "byIp", "waitedMs", "freeAfterMs"]);
/** Ranges, `[lowest, highest]`: over the rounds, the lowest of their lows and the highest of their highs. */
const SPANS = new Set(["rssSettledRangeKb"]);

const isSpan = (v: unknown): v is [number, number] =>
  Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === "number");

const isRecord = (v: unknown): v is TargetResults => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * One figure over its rounds, by name: a number is the median of its rounds, except the counts where the worst
 * round tells (FEWEST, MOST: a round that held fewer sockets did not measure the peers' workload, and a place
 * left in any round is a leak); a range spans every round's (SPANS); refusals are added up; a group of figures
 * (a workload, a latency) is combined figure by figure; anything else is the first round's, or null if a round
 * has none.
 */
function combine(key: string, values: unknown[]): unknown {
  if (values.every((v) => typeof v === "number")) {
    return FEWEST.has(key) ? Math.min(...values) : MOST.has(key) ? Math.max(...values) : median(values);
  }
  if (SPANS.has(key) && values.every(isSpan)) {
    return [Math.min(...values.map(([low]) => low)), Math.max(...values.map(([, high]) => high))];
  }
  if (key === "refused") {
    const refused: Record<string, number> = {};
    for (const v of values) {
      for (const [why, n] of Object.entries(v ?? {})) refused[why] = (refused[why] ?? 0) + n;
    }
    return refused;
  }
  if (values.every(isRecord)) {
    return Object.fromEntries(Object.keys(values[0]).map((k) => [k, combine(k, values.map((v) => v[k]))]));
  }
  return values.includes(null) ? null : values[0];
}

/**
 * A target's results from its main run and its rounds: each workload of the rounds over its rounds (with the
 * main run's, for a workload both ran), and the rounds themselves.
 */
export function withRounds(main: TargetResults | undefined, rounds: TargetResults[]): TargetResults {
  const summary: TargetResults = { ...main, rounds };
  for (const [key, value] of Object.entries(rounds[0])) {
    const measured = [...rounds.map((r) => r[key]), ...(isRecord(main?.[key]) ? [main[key]] : [])];
    if (isRecord(value) && measured.every(isRecord)) summary[key] = combine(key, measured);
  }
  return summary;
}

/**
 * The ratio of `figure` between two targets' rounds, round by round: each round's ratio (rounded as shown) and
 * their median. Null unless both ran the same number of rounds, each with the figure.
 */
export function pairedRatios(
  ours: TargetResults | undefined,
  theirs: TargetResults | undefined,
  figure: (round: TargetResults) => number | null | undefined,
): { each: number[]; median: number } | null {
  const a: TargetResults[] | undefined = ours?.rounds;
  const b: TargetResults[] | undefined = theirs?.rounds;
  if (!a?.length || a.length !== b?.length) return null;
  const each: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = figure(a[i]);
    const y = figure(b[i]);
    if (typeof x !== "number" || typeof y !== "number" || !y) return null;
    each.push(Math.round((x / y) * 100) / 100);
  }
  return { each, median: Math.round(median(each) * 100) / 100 };
}
