import assert from "node:assert/strict";
import { createIsolateGauges, sumGauges } from "./gauges.ts";
import { createHub } from "./hub.ts";
import type { IsolateGauges, IsolateRecord } from "./isolates.ts";
import { createLogger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import { createNoRelay } from "./relay.ts";

Deno.test("gauges.sample(): every frame in and out per second, error frames per frame, latency per delivery", () => {
  let clock = 1_000_000;
  const metrics = createMetrics();
  const hub = createHub({ metrics, log: createLogger("error"), readRange: () => Promise.resolve([]) });
  const gauges = createIsolateGauges(metrics, hub, createNoRelay(), () => clock);
  metrics.inc("realtime_frames_total", { direction: "in", type: "ping" }, 4);
  metrics.inc("realtime_frames_total", { direction: "out", type: "pong" }, 4);
  metrics.inc("realtime_frames_total", { direction: "out", type: "welcome" });
  metrics.inc("realtime_frames_total", { direction: "out", type: "error" });
  metrics.inc("realtime_frames_total", { direction: "out", type: "project_update" }, 10);
  metrics.observe("realtime_delivery_latency_seconds", 0.004);
  metrics.observe("realtime_delivery_latency_seconds", 0.008);
  clock += 2000;
  const g = gauges.sample();
  assert.equal(g.messagesPerSecond, 10);
  assert.equal(g.errorRate, 1 / 20);
  assert.ok(Math.abs(g.averageLatency - 6) < 1e-9);
  assert.equal(g.deliveriesPerSecond, 1);
  clock += 1000;
  assert.deepEqual(
    [gauges.sample()].map((s) => [s.messagesPerSecond, s.errorRate, s.deliveriesPerSecond]),
    [[0, 0, 0]],
  );
});

Deno.test("sumGauges(): rates add up across isolates; latency is weighted by deliveries, not frames", () => {
  const record = (id: string, gauges: Partial<IsolateGauges>): IsolateRecord => ({
    isolateId: id,
    startedAt: 0,
    updatedAt: 0,
    metrics: { counters: {}, histograms: {} },
    gauges: {
      connectionsByRole: { admin: 0, client: 1 },
      messagesPerSecond: 0,
      averageLatency: 0,
      errorRate: 0,
      relay: { name: "none", healthy: true },
      memoryRss: 0,
      ...gauges,
    },
  });
  const busy = record("a", { messagesPerSecond: 998, averageLatency: 5, deliveriesPerSecond: 1 });
  const quiet = record("b", {
    messagesPerSecond: 2,
    averageLatency: 100,
    deliveriesPerSecond: 1,
    errorRate: 0.5,
  });
  const m = sumGauges([busy, quiet], 0);
  assert.equal(m.messagesPerSecond, 1000);
  assert.equal(m.averageLatency, 52.5);
  assert.equal(m.errorRate, 1 / 1000);
  assert.equal(m.activeConnections, 2);
});
