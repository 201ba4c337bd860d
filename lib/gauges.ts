/**
 * The seeds' `WebSocketMetrics`: this isolate's figures sampled on each heartbeat, and their sum across every
 * live isolate for the admin status, the panel and `/health`.
 */
import type { Hub } from "./hub.ts";
import type { IsolateDirectory, IsolateGauges, IsolateRecord } from "./isolates.ts";
import { counterTotal, type Metrics, type MetricsSnapshot } from "./metrics.ts";
import type { WebSocketMetrics } from "./protocol.ts";
import type { Relay } from "./relay.ts";

interface Totals {
  at: number;
  frames: number;
  errors: number;
  latencySum: number;
  latencyCount: number;
}

function totalsOf(s: MetricsSnapshot, at: number): Totals {
  const latency = s.histograms["realtime_delivery_latency_seconds"];
  return {
    at,
    frames: counterTotal(s, "realtime_frames_total"),
    errors: counterTotal(s, "realtime_frames_total", { type: "error" }),
    latencySum: latency?.sum ?? 0,
    latencyCount: latency?.count ?? 0,
  };
}

/** How many beats (seconds) of delivery latency each isolate keeps in its record for `/health`. */
export const LATENCY_WINDOW_BEATS = 10;

/** Samples this isolate's gauges; `status()` sums every live isolate's latest sample. */
export function createIsolateGauges(metrics: Metrics, hub: Hub, relay: Relay, now: () => number) {
  let previous = totalsOf(metrics.snapshot(), now());
  const latencyWindow: Array<[number, number]> = [];

  function sample(): IsolateGauges {
    const current = totalsOf(metrics.snapshot(), now());
    const seconds = Math.max((current.at - previous.at) / 1000, 0.001);
    // Every frame in and out (SPEC's "frames per second"); errors are the `error` frames among them.
    const frames = current.frames - previous.frames;
    const latencyCount = current.latencyCount - previous.latencyCount;
    const averageLatency = latencyCount
      ? ((current.latencySum - previous.latencySum) / latencyCount) * 1000
      : 0;
    latencyWindow.push([Math.round(averageLatency * 100) / 100, latencyCount]);
    if (latencyWindow.length > LATENCY_WINDOW_BEATS) latencyWindow.shift();
    const gauges: IsolateGauges = {
      connectionsByRole: hub.countsByRole(),
      messagesPerSecond: Math.round((frames / seconds) * 100) / 100,
      averageLatency,
      deliveriesPerSecond: latencyCount / seconds,
      errorRate: frames ? (current.errors - previous.errors) / frames : 0,
      relay: relay.health(),
      memoryRss: Deno.memoryUsage().rss,
      latencyWindow: [...latencyWindow],
    };
    previous = current;
    return gauges;
  }

  /**
   * Every live isolate's latest record (at most ISOLATE_STALE_MS old), with this isolate's connection counts
   * and metrics taken live rather than from its last beat.
   */
  async function liveRecords(isolates: IsolateDirectory, isolateId: string): Promise<IsolateRecord[]> {
    const records = await isolates.records();
    const own = records.find((r) => r.isolateId === isolateId);
    const live: IsolateRecord = {
      isolateId,
      startedAt: own?.startedAt ?? now(),
      updatedAt: now(),
      // Before the first beat there are no rates yet; sampling here would shift the next beat's window.
      gauges: {
        ...(own?.gauges ??
          { messagesPerSecond: 0, averageLatency: 0, errorRate: 0, relay: relay.health(), memoryRss: 0 }),
        connectionsByRole: hub.countsByRole(),
      },
      metrics: metrics.snapshot(),
    };
    return [...records.filter((r) => r.isolateId !== isolateId), live];
  }

  return {
    sample,
    liveRecords,
    /** WebSocketMetrics summed across every live isolate, this one's connection counts taken live. */
    async status(isolates: IsolateDirectory, isolateId: string): Promise<WebSocketMetrics> {
      return sumGauges(await liveRecords(isolates, isolateId), now());
    },
  };
}

/** Adds up isolate records into the seeds' WebSocketMetrics. */
export function sumGauges(records: IsolateRecord[], at: number): WebSocketMetrics {
  const byRole = { admin: 0, client: 0 };
  let messagesPerSecond = 0;
  let latencyWeighted = 0;
  let latencyWeight = 0;
  let errors = 0;
  let total = 0;
  for (const r of records) {
    byRole.admin += r.gauges.connectionsByRole.admin;
    byRole.client += r.gauges.connectionsByRole.client;
    messagesPerSecond += r.gauges.messagesPerSecond;
    // A mean of means is weighted by each one's sample count: deliveries, not frames (a fan-out to many
    // sockets, or a chatty client, is one latency sample). Records written before the field existed fall back.
    const weight = r.gauges.deliveriesPerSecond ?? r.gauges.messagesPerSecond;
    latencyWeighted += r.gauges.averageLatency * weight;
    latencyWeight += weight;
    errors += r.gauges.errorRate * r.gauges.messagesPerSecond;
    total += counterTotal(r.metrics, "realtime_connections_opened_total");
  }
  const active = byRole.admin + byRole.client;
  return {
    totalConnections: total,
    activeConnections: active,
    connectionsByRole: byRole,
    messagesPerSecond: Math.round(messagesPerSecond * 100) / 100,
    averageLatency: latencyWeight ? Math.round((latencyWeighted / latencyWeight) * 100) / 100 : 0,
    errorRate: messagesPerSecond ? errors / messagesPerSecond : 0,
    timestamp: new Date(at).toISOString(),
  };
}
