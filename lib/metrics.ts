/**
 * This isolate's counters and histograms. Snapshots are plain JSON so they can be stored in KV per isolate
 * and summed across isolates by whichever isolate answers `/metrics` or the admin status. Names and labels are
 * those of the families table (lib/prometheus.ts): a name or label not declared there is a type error.
 */
import type { CounterName, HistogramName, LabelName } from "./prometheus.ts";

/** Histogram bucket upper bounds in seconds, shared by delivery latency and relay lag. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface HistogramSnapshot {
  /** Cumulative-free counts per bucket of LATENCY_BUCKETS, plus a last `+Inf` slot. */
  counts: number[];
  sum: number;
  count: number;
}

export interface MetricsSnapshot {
  /** `name{label="v",…}` → value, for counters. */
  counters: Record<string, number>;
  histograms: Record<string, HistogramSnapshot>;
}

const emptyHistogram = (): HistogramSnapshot => ({
  counts: new Array(LATENCY_BUCKETS.length + 1).fill(0),
  sum: 0,
  count: 0,
});

function seriesName(name: string, labels?: Record<string, string>): string {
  if (!labels) return name;
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`);
  return `${name}{${parts.join(",")}}`;
}

/** A value for each label the counter's family declares. */
export type CounterLabels<N extends CounterName> = Record<LabelName<N>, string>;

/** What follows a counter's name: its labels (required when its family declares some), then the increment. */
type IncArgs<N extends CounterName> = [LabelName<N>] extends [never] ? [labels?: undefined, by?: number]
  : [labels: CounterLabels<N>, by?: number];

export interface Metrics {
  inc<N extends CounterName>(name: N, ...args: IncArgs<N>): void;
  observe(name: HistogramName, seconds: number): void;
  snapshot(): MetricsSnapshot;
}

/** A fresh, in-memory metrics registry for this isolate. */
export function createMetrics(): Metrics {
  const counters: Record<string, number> = {};
  const histograms: Record<string, HistogramSnapshot> = {};
  return {
    inc(name, ...[labels, by = 1]: [Record<string, string>?, number?]) {
      const key = seriesName(name, labels);
      counters[key] = (counters[key] ?? 0) + by;
    },
    observe(name, seconds) {
      const h = histograms[name] ??= emptyHistogram();
      let bucket = LATENCY_BUCKETS.findIndex((upper) => seconds <= upper);
      if (bucket === -1) bucket = LATENCY_BUCKETS.length;
      h.counts[bucket]++;
      h.sum += seconds;
      h.count++;
    },
    snapshot: () => structuredClone({ counters, histograms }),
  };
}

/** Adds several isolates' snapshots into one. */
export function mergeSnapshots(snapshots: MetricsSnapshot[]): MetricsSnapshot {
  const merged: MetricsSnapshot = { counters: {}, histograms: {} };
  for (const s of snapshots) {
    for (const [k, v] of Object.entries(s.counters)) merged.counters[k] = (merged.counters[k] ?? 0) + v;
    for (const [k, h] of Object.entries(s.histograms)) {
      const into = merged.histograms[k] ??= emptyHistogram();
      h.counts.forEach((c, i) => into.counts[i] += c);
      into.sum += h.sum;
      into.count += h.count;
    }
  }
  return merged;
}

/** Sums every series of a counter whose labels match `labels` (all series when none are given). */
export function counterTotal<N extends CounterName>(
  s: MetricsSnapshot,
  name: N,
  labels: Partial<CounterLabels<N>> = {},
): number {
  let total = 0;
  for (const [key, value] of Object.entries(s.counters)) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}
