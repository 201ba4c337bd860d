/**
 * `/health`: the seeds' checks and thresholds on the figures of every live isolate, plus a real KV round trip
 * and the relay's own report. Any `fail` makes the service unhealthy (503), any `warn` degraded. A load
 * balancer pulls an unhealthy instance, and every instance sharing the KV reports the same figures: so what
 * one user's burst can move (the last second's latency, one slow KV answer) degrades, and only what lasts fails.
 */
import { LATENCY_WINDOW_BEATS, sumGauges } from "./gauges.ts";
import type { WebSocketMetrics } from "./protocol.ts";
import type { IsolateRecord } from "./isolates.ts";
import type { RelayHealth } from "./relay.ts";

export type CheckStatus = "pass" | "warn" | "fail";
export type HealthStatus = "healthy" | "degraded" | "unhealthy";

export interface HealthCheck {
  name: string;
  status: CheckStatus;
  value: number | string;
  threshold?: number;
  detail?: string;
}

export interface HealthReport {
  status: HealthStatus;
  metrics: WebSocketMetrics & { isolates: number; memoryUsage: number };
  checks: HealthCheck[];
}

/** The seeds' thresholds: latency in milliseconds, error rate as errors per frame. */
export const LATENCY_FAIL_MS = 50;
export const ERROR_RATE_WARN = 0.01;
export const KV_TIMEOUT_MS = 1000;

/**
 * The seeds' three checks. `capacity` is where connection_count starts to warn (the seeds' 1000); `bySecond`
 * is the service's delivery latency in each of the last seconds, oldest first (latencyBySecond).
 */
export function metricChecks(m: WebSocketMetrics, capacity: number, bySecond: number[]): HealthCheck[] {
  return [
    {
      name: "connection_count",
      status: m.activeConnections < capacity ? "pass" : "warn",
      value: m.activeConnections,
      threshold: capacity,
    },
    latencyCheck(bySecond),
    {
      name: "error_rate",
      status: m.errorRate < ERROR_RATE_WARN ? "pass" : "warn",
      value: m.errorRate,
      threshold: ERROR_RATE_WARN,
    },
  ];
}

/**
 * The whole service's mean delivery latency in each of the last LATENCY_WINDOW_BEATS seconds (isolate beats),
 * oldest first: each live isolate's figure for that second, weighted by its deliveries; the isolates' windows
 * are lined up by recency, as each beats once a second. A second in which nothing was delivered counts as
 * 0 ms, nobody waited; so do seconds before the service started.
 */
export function latencyBySecond(records: IsolateRecord[]): number[] {
  const seconds: number[] = [];
  for (let back = LATENCY_WINDOW_BEATS - 1; back >= 0; back--) {
    let weighted = 0;
    let deliveries = 0;
    for (const r of records) {
      const window = r.gauges.latencyWindow ?? [];
      const [ms, count] = window[window.length - 1 - back] ?? [0, 0];
      weighted += ms * count;
      deliveries += count;
    }
    seconds.push(deliveries ? weighted / deliveries : 0);
  }
  return seconds;
}

function median(values: number[]): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * The seeds' latency check (fail at ≥ 50 ms), judged on a sustained window: it fails only when the median of
 * the last seconds' figures reaches the threshold, so a burst (one user's writes) shorter than half the window
 * cannot make the service unhealthy; a slow last second alone warns (degraded, still 200).
 */
export function latencyCheck(bySecond: number[]): HealthCheck {
  const value = round2(median(bySecond));
  const last = round2(bySecond.at(-1) ?? 0);
  const status: CheckStatus = value >= LATENCY_FAIL_MS ? "fail" : last >= LATENCY_FAIL_MS ? "warn" : "pass";
  const detail = `median of the last ${bySecond.length} s; last second ${last} ms`;
  return {
    name: "latency",
    status,
    value,
    threshold: LATENCY_FAIL_MS,
    ...(status === "pass" ? {} : { detail }),
  };
}

/**
 * The relay may drop or delay by design (clients resume from `seq`), so a broken relay degrades; a peer on
 * another store is a misconfiguration that loses notifications, so it fails.
 */
export function relayCheck(health: RelayHealth): HealthCheck {
  return {
    name: "relay",
    status: health.misconfiguration ? "fail" : health.healthy ? "pass" : "warn",
    value: health.name,
    ...(health.detail ? { detail: health.detail } : {}),
  };
}

/** Any fail → unhealthy; else any warn → degraded; else healthy. */
export function overallStatus(checks: HealthCheck[]): HealthStatus {
  if (checks.some((c) => c.status === "fail")) return "unhealthy";
  if (checks.some((c) => c.status === "warn")) return "degraded";
  return "healthy";
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface HealthInputs {
  /** Every live isolate's record, this one's taken live (gauges.liveRecords). */
  records(): Promise<IsolateRecord[]>;
  /** The KV check: the background probe's verdict (createKvProbe), answered without waiting on KV. */
  kv(): Promise<HealthCheck>;
  relay: RelayHealth;
  /** MAX_CONNECTIONS: sockets one isolate holds before it refuses more. */
  maxConnectionsPerIsolate: number;
  now: () => number;
}

/** Runs every check. A KV outage that also hides the isolate records still yields a report (unhealthy). */
export async function checkHealth(inputs: HealthInputs): Promise<HealthReport> {
  const [kv, records] = await Promise.all([
    inputs.kv(),
    withTimeout(inputs.records(), KV_TIMEOUT_MS, "Reading isolate records").catch(() => []),
  ]);
  const metrics = sumGauges(records, inputs.now());
  // The seeds warn at 1000 sockets, MAX_CONNECTIONS' default: capacity is one isolate's limit per live isolate.
  const capacity = inputs.maxConnectionsPerIsolate * Math.max(records.length, 1);
  const checks = [...metricChecks(metrics, capacity, latencyBySecond(records)), kv, relayCheck(inputs.relay)];
  return {
    status: overallStatus(checks),
    metrics: { ...metrics, isolates: records.length, memoryUsage: Deno.memoryUsage().rss },
    checks,
  };
}
