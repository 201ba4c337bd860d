/**
 * What the service reports about itself, summed over every live isolate: the admin status (the seeds'
 * `WebSocketMetrics`), the health report of `/health` and the status panel, and the Prometheus text of
 * `/metrics`. Each isolate's figures come from its latest heartbeat record, this isolate's taken live.
 */
import { checkHealth, type HealthReport } from "./health.ts";
import { type createIsolateGauges, sumGauges } from "./gauges.ts";
import type { IsolateDirectory } from "./isolates.ts";
import type { KvProbe } from "./kv_probe.ts";
import { mergeSnapshots } from "./metrics.ts";
import { renderPrometheus } from "./prometheus.ts";
import type { WebSocketMetrics } from "./protocol.ts";
import type { Relay } from "./relay.ts";

export interface ReportSources {
  gauges: Pick<ReturnType<typeof createIsolateGauges>, "status" | "liveRecords">;
  isolates: IsolateDirectory;
  isolateId: string;
  kvProbe: Pick<KvProbe, "check">;
  relay: Pick<Relay, "health">;
  /** Where the connection count starts to warn, per isolate (MAX_CONNECTIONS). */
  maxConnectionsPerIsolate: number;
  now: () => number;
}

/** Builds the service's reports from its parts. */
export function createServiceReports(sources: ReportSources) {
  const { gauges, isolates, isolateId, now } = sources;
  const liveRecords = () => gauges.liveRecords(isolates, isolateId);

  return {
    /** The seeds' `WebSocketMetrics`, across every live isolate. */
    status(): Promise<WebSocketMetrics> {
      return gauges.status(isolates, isolateId);
    },

    /** The health report: checks on every live isolate's figures, a KV round trip, the relay's own report. */
    health(): Promise<HealthReport> {
      return checkHealth({
        records: liveRecords,
        kv: () => Promise.resolve(sources.kvProbe.check()),
        relay: sources.relay.health(),
        maxConnectionsPerIsolate: sources.maxConnectionsPerIsolate,
        now,
      });
    },

    /** Every live isolate's metrics as Prometheus text. */
    async scrape(): Promise<string> {
      const records = await liveRecords();
      return renderPrometheus({
        snapshot: mergeSnapshots(records.map((r) => r.metrics)),
        connectionsByRole: sumGauges(records, now()).connectionsByRole,
        isolates: records.length,
      });
    },
  };
}
