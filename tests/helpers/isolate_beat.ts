/** Isolate records for tests that need an isolate to be alive (or its figures to be something) in KV. */
import type { IsolateGauges, IsolateRecord } from "../../lib/isolates.ts";

/** What `IsolateDirectory.beat()` takes for an idle isolate: no sockets, no traffic, a healthy relay. */
export function idleBeat(
  isolateId: string,
  startedAt: number,
  gauges: Partial<IsolateGauges> = {},
): Omit<IsolateRecord, "updatedAt"> {
  return {
    isolateId,
    startedAt,
    metrics: { counters: {}, histograms: {} },
    gauges: {
      connectionsByRole: { admin: 0, client: 0 },
      messagesPerSecond: 0,
      averageLatency: 0,
      errorRate: 0,
      relay: { name: "none", healthy: true },
      memoryRss: 0,
      ...gauges,
    },
  };
}

/** An idle isolate's record as the directory keeps it (started and beaten at 0), `gauges` laid over it. */
export function idleRecord(isolateId: string, gauges: Partial<IsolateGauges> = {}): IsolateRecord {
  return { ...idleBeat(isolateId, 0, gauges), updatedAt: 0 };
}
