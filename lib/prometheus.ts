/**
 * The Prometheus text exposition format (version 0.0.4) of a merged metrics snapshot: every family README
 * "GET /metrics" lists, with its `# HELP` and `# TYPE`, in a fixed order so scrapes diff cleanly.
 */
import { LATENCY_BUCKETS, type MetricsSnapshot } from "./metrics.ts";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram";
  help: string;
  /**
   * The family's label names; every series of it carries all of them. A family without labels is written as 0
   * before its first increment, so it exists from the start.
   */
  labels?: readonly string[];
}

/** Every family, in scrape order. `metrics.inc` and `metrics.observe` take only names (and labels) declared here. */
const FAMILIES = [
  { name: "realtime_isolates", type: "gauge", help: "Isolates that reported within the last 5 seconds." },
  {
    name: "realtime_connections",
    type: "gauge",
    help: "Open WebSocket connections by role.",
    labels: ["role"],
  },
  { name: "realtime_connections_opened_total", type: "counter", help: "WebSocket connections opened." },
  {
    name: "realtime_frames_total",
    type: "counter",
    help: "WebSocket frames by direction (in, out) and type.",
    labels: ["direction", "type"],
  },
  {
    name: "realtime_webhooks_total",
    type: "counter",
    help: "Webhook requests by outcome.",
    labels: ["status"],
  },
  {
    name: "realtime_delivery_latency_seconds",
    type: "histogram",
    help: "Time from webhook accepted to frame handed to the socket.",
  },
  {
    name: "realtime_relay_lag_seconds",
    type: "histogram",
    help: "Time from relay publish on one isolate to receipt on another.",
  },
  {
    name: "realtime_relay_errors_total",
    type: "counter",
    help: "Relay failures by relay and part (publish, watch, subscriber).",
    labels: ["relay", "part"],
  },
  {
    name: "realtime_slow_consumers_total",
    type: "counter",
    help: "Sockets closed 4008 because their outbound queue passed BUFFER_SIZE.",
  },
  {
    name: "realtime_auth_failures_total",
    type: "counter",
    help: "Refused tokens by reason.",
    labels: ["reason"],
  },
  {
    name: "realtime_rate_limited_total",
    type: "counter",
    help: "Connections, frames or API requests refused by a limit, by kind.",
    labels: ["kind"],
  },
  {
    name: "realtime_notification_list_entries_total",
    type: "counter",
    help: "KV entries read by notification listings (notifications, read states, read marks).",
  },
  {
    name: "realtime_acks_dropped_total",
    type: "counter",
    help: "Ids in ack frames dropped unstored, by reason (unknown, foreign, over_budget).",
    labels: ["reason"],
  },
  {
    name: "realtime_heap_collection_seconds",
    type: "histogram",
    help: "Pauses of an isolate collecting its heap to give memory back after a burst of sockets.",
  },
] as const satisfies readonly Family[];

type Declared = (typeof FAMILIES)[number];
/** A counter family's name. */
export type CounterName = Extract<Declared, { type: "counter" }>["name"];
/** A histogram family's name. */
export type HistogramName = Extract<Declared, { type: "histogram" }>["name"];
/** The label names a family declares (`never` for one without labels). */
export type LabelName<N extends Declared["name"]> = Extract<Declared, { name: N }> extends
  { labels: readonly (infer L extends string)[] } ? L : never;

export interface Exposition {
  /** Counters and histograms summed over every live isolate. */
  snapshot: MetricsSnapshot;
  connectionsByRole: Record<string, number>;
  isolates: number;
}

/** Prometheus renders floats its own way; integers stay integers and infinities are spelled out. */
function value(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "+Inf" : "-Inf";
  return String(n);
}

function seriesLines(family: Family, samples: Record<string, number>): string[] {
  const series = Object.keys(samples)
    .filter((key) => key === family.name || key.startsWith(`${family.name}{`))
    .sort();
  if (!series.length && !family.labels) return [`${family.name} 0`];
  return series.map((key) => `${key} ${value(samples[key])}`);
}

function histogramLines(name: string, snapshot: MetricsSnapshot): string[] {
  const h = snapshot.histograms[name];
  const lines: string[] = [];
  let cumulative = 0;
  LATENCY_BUCKETS.forEach((upper, i) => {
    cumulative += h?.counts[i] ?? 0;
    lines.push(`${name}_bucket{le="${upper}"} ${cumulative}`);
  });
  lines.push(`${name}_bucket{le="+Inf"} ${h?.count ?? 0}`);
  lines.push(`${name}_sum ${value(h?.sum ?? 0)}`, `${name}_count ${h?.count ?? 0}`);
  return lines;
}

/** Renders the whole exposition, ending with a newline as the format requires. */
export function renderPrometheus({ snapshot, connectionsByRole, isolates }: Exposition): string {
  // Gauges are series like any counter's, so one writer serves both.
  const samples: Record<string, number> = { ...snapshot.counters, realtime_isolates: isolates };
  for (const [role, count] of Object.entries(connectionsByRole)) {
    samples[`realtime_connections{role="${role}"}`] = count;
  }
  const lines: string[] = [];
  for (const family of FAMILIES) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    lines.push(
      ...(family.type === "histogram" ? histogramLines(family.name, snapshot) : seriesLines(family, samples)),
    );
  }
  return lines.join("\n") + "\n";
}
