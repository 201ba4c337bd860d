/**
 * `/health`: the seeds' checks and thresholds on the figures of every live isolate, plus a real KV round trip
 * and the relay's own report. Any `fail` makes the service unhealthy (503), any `warn` degraded.
 */
import { sumGauges, type WebSocketMetrics } from "./gauges.ts";
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

/** The seeds' three checks. `capacity` is where connection_count starts to warn (the seeds' 1000). */
export function metricChecks(m: WebSocketMetrics, capacity: number): HealthCheck[] {
  return [
    {
      name: "connection_count",
      status: m.activeConnections < capacity ? "pass" : "warn",
      value: m.activeConnections,
      threshold: capacity,
    },
    {
      name: "latency",
      status: m.averageLatency < LATENCY_FAIL_MS ? "pass" : "fail",
      value: m.averageLatency,
      threshold: LATENCY_FAIL_MS,
    },
    {
      name: "error_rate",
      status: m.errorRate < ERROR_RATE_WARN ? "pass" : "warn",
      value: m.errorRate,
      threshold: ERROR_RATE_WARN,
    },
  ];
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

/** Writes a fresh nonce under `key` and reads it back: passes only if KV answered both within `timeoutMs`. */
export async function probeKv(
  kv: Deno.Kv,
  key: Deno.KvKey,
  timeoutMs = KV_TIMEOUT_MS,
  now: () => number = performance.now.bind(performance),
): Promise<HealthCheck> {
  const started = now();
  const nonce = crypto.randomUUID();
  try {
    await withTimeout(
      (async () => {
        await kv.set(key, nonce, { expireIn: 60_000 });
        const read = await kv.get<string>(key, { consistency: "strong" });
        if (read.value !== nonce) throw new Error("KV read back another value than it wrote");
      })(),
      timeoutMs,
      "KV round trip",
    );
    const ms = Math.round((now() - started) * 100) / 100;
    return { name: "kv", status: "pass", value: ms, threshold: timeoutMs };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { name: "kv", status: "fail", value: Math.round(now() - started), threshold: timeoutMs, detail };
  }
}

export interface HealthInputs {
  /** Every live isolate's record, this one's taken live (gauges.liveRecords). */
  records(): Promise<IsolateRecord[]>;
  /** The KV round trip's result (probeKv). */
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
  const checks = [...metricChecks(metrics, capacity), kv, relayCheck(inputs.relay)];
  return {
    status: overallStatus(checks),
    metrics: { ...metrics, isolates: records.length, memoryUsage: Deno.memoryUsage().rss },
    checks,
  };
}
