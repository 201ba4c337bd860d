/**
 * The load generator's arithmetic: latency percentiles, the server's CPU per unit of work, and waiting for
 * the server to go quiet before a workload so that it does not measure the tail of the previous one.
 */
import { sampleTree } from "./proc.mjs";

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;
}

const round2 = (v) => (v === null ? null : Math.round(v * 100) / 100);

/** Sample count, p50, p99 and max (ms) of latency samples. */
export function latencyOf(values = []) {
  const sorted = Float64Array.from(values).sort();
  return {
    samples: sorted.length,
    p50Ms: round2(percentile(sorted, 0.5)),
    p99Ms: round2(percentile(sorted, 0.99)),
    maxMs: round2(sorted.length ? sorted[sorted.length - 1] : null),
  };
}

/** Server CPU (µs) per unit of work between two samples of its process tree. */
export const cpuPer = (before, after, units) =>
  units > 0 ? round2(((after.cpuSeconds - before.cpuSeconds) * 1e6) / units) : null;

/** Bytes as MB with one decimal. */
export const mb = (bytes) => Math.round(bytes / 1e5) / 10;

/** RSS growth per socket (KiB, one decimal) between two samples. */
export const rssPerSocketKb = (before, after, sockets) =>
  sockets > 0 ? Math.round((after.rssBytes - before.rssBytes) / sockets / 102.4) / 10 : null;

/**
 * The server's RSS per socket (KiB) read once a second from `fromMs` to `untilMs` after `since`: the median
 * of the readings, and the lowest and highest. One reading lands anywhere in V8's collection cycle, whose
 * swing across 10,000 held sockets is 2–3 KiB a socket on either side (bench/RESULTS.md, issue 13, "settled
 * RSS read as a median").
 */
export async function settledRssPerSocketKb(serverPid, before, sockets, since, { fromMs, untilMs }) {
  const readings = [];
  for (let at = fromMs; at <= untilMs; at += 1000) {
    await sleep(Math.max(0, since + at - performance.now()));
    readings.push(rssPerSocketKb(before, sampleTree(serverPid), sockets));
  }
  const sorted = readings.toSorted((a, b) => a - b);
  return { median: percentile(sorted, 0.5), lowest: sorted[0], highest: sorted[sorted.length - 1] };
}

/**
 * Waits until the server's CPU use falls below a fifth of a core (or 10 s pass), so that a workload does not
 * measure the tail of the previous one: closing 10,000 sockets, or a collector catching up.
 */
export async function waitForQuiet(serverPid) {
  const deadline = performance.now() + 10_000;
  let last = sampleTree(serverPid).cpuSeconds;
  while (performance.now() < deadline) {
    await sleep(250);
    const now = sampleTree(serverPid).cpuSeconds;
    if (now - last < 0.05) return;
    last = now;
  }
}
