import assert from "node:assert/strict";
import type { WebSocketMetrics } from "./gauges.ts";
import { checkHealth, metricChecks, overallStatus, probeKv, relayCheck } from "./health.ts";
import type { IsolateRecord } from "./isolates.ts";
import { createMetrics } from "./metrics.ts";

const figures = (over: Partial<WebSocketMetrics> = {}): WebSocketMetrics => ({
  totalConnections: 0,
  activeConnections: 0,
  connectionsByRole: { admin: 0, client: 0 },
  messagesPerSecond: 0,
  averageLatency: 0,
  errorRate: 0,
  timestamp: new Date(0).toISOString(),
  ...over,
});

const statusOf = (m: WebSocketMetrics, capacity = 1000) =>
  Object.fromEntries(metricChecks(m, capacity).map((c) => [c.name, c.status]));

Deno.test("metricChecks() applies the seeds' thresholds", () => {
  assert.deepEqual(statusOf(figures()), { connection_count: "pass", latency: "pass", error_rate: "pass" });
  assert.equal(statusOf(figures({ activeConnections: 999 })).connection_count, "pass");
  assert.equal(statusOf(figures({ activeConnections: 1000 })).connection_count, "warn");
  assert.equal(statusOf(figures({ activeConnections: 3 }), 3).connection_count, "warn");
  assert.equal(statusOf(figures({ averageLatency: 49.99 })).latency, "pass");
  assert.equal(statusOf(figures({ averageLatency: 50 })).latency, "fail");
  assert.equal(statusOf(figures({ errorRate: 0.0099 })).error_rate, "pass");
  assert.equal(statusOf(figures({ errorRate: 0.01 })).error_rate, "warn");
});

Deno.test("overallStatus(): any fail is unhealthy, any warn degraded", () => {
  const check = (status: "pass" | "warn" | "fail") => ({ name: "x", status, value: 0 });
  assert.equal(overallStatus([check("pass"), check("pass")]), "healthy");
  assert.equal(overallStatus([check("pass"), check("warn")]), "degraded");
  assert.equal(overallStatus([check("warn"), check("fail")]), "unhealthy");
  assert.equal(relayCheck({ name: "redis", healthy: false, detail: "down" }).status, "warn");
});

Deno.test("probeKv() writes and reads back; a closed KV fails the check instead of throwing", async () => {
  const kv = await Deno.openKv(":memory:");
  const ok = await probeKv(kv, ["health_probes", "i1"]);
  assert.equal(ok.status, "pass");
  assert.equal(typeof ok.value, "number");
  kv.close();
  const failed = await probeKv(kv, ["health_probes", "i1"]);
  assert.equal(failed.status, "fail");
  assert.ok(failed.detail);
});

Deno.test("checkHealth() sums isolates, scales capacity with them, and is unhealthy on slow delivery", async () => {
  const record = (id: string, client: number, averageLatency: number): IsolateRecord => ({
    isolateId: id,
    startedAt: 0,
    updatedAt: 0,
    gauges: {
      connectionsByRole: { admin: 0, client },
      messagesPerSecond: 10,
      averageLatency,
      errorRate: 0,
      relay: { name: "none", healthy: true },
      memoryRss: 0,
    },
    metrics: createMetrics().snapshot(),
  });
  const run = (records: IsolateRecord[]) =>
    checkHealth({
      records: () => Promise.resolve(records),
      kv: () => Promise.resolve({ name: "kv", status: "pass", value: 1, threshold: 1000 }),
      relay: { name: "none", healthy: true },
      maxConnectionsPerIsolate: 2,
      now: () => 0,
    });
  const healthy = await run([record("a", 1, 5), record("b", 2, 5)]);
  assert.equal(healthy.status, "healthy");
  assert.equal(healthy.metrics.activeConnections, 3);
  assert.equal(healthy.metrics.isolates, 2);
  assert.equal(healthy.checks.find((c) => c.name === "connection_count")?.threshold, 4);
  const full = await run([record("a", 2, 5), record("b", 2, 5)]);
  assert.equal(full.status, "degraded");
  const slow = await run([record("a", 1, 80), record("b", 1, 80)]);
  assert.equal(slow.status, "unhealthy");
  assert.equal(slow.checks.find((c) => c.name === "latency")?.status, "fail");
});
