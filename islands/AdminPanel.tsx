/**
 * The live status panel: server-rendered with the figures of the moment, then hydrated in the browser where a
 * realtime client (`lib/client/realtime_client.ts`) subscribes to `metrics` frames (one a second) and polls
 * the connection list and the health checks. Every figure carries `data-metric="<WebSocketMetrics field>"`,
 * every row `data-connection-id`.
 */
import { effect, type Signal, useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { createRealtimeClient, type TokenGrant } from "../lib/client/realtime_client.ts";
import type { WebSocketMetrics } from "../lib/protocol.ts";
import type { ConnectionRecord } from "../lib/connections.ts";
import type { HealthCheck, HealthStatus } from "../lib/health.ts";

export interface AdminPanelProps {
  status: WebSocketMetrics;
  connections: ConnectionRecord[];
  health: { status: HealthStatus; checks: HealthCheck[] };
  adminName: string;
}

interface FeedEntry {
  at: string;
  kind: string;
  text: string;
}

type Link = "connecting" | "live" | "offline";

const HISTORY = 60;
const FEED = 40;
const SERIES = ["activeConnections", "messagesPerSecond", "averageLatency", "errorRate"] as const;
type Series = typeof SERIES[number];

function Sparkline({ values, label }: { values: number[]; label: string }) {
  const width = 180;
  const height = 36;
  const max = Math.max(...values, 1e-9);
  const step = width / (HISTORY - 1);
  const offset = HISTORY - values.length;
  const points = values
    .map((v, i) =>
      `${((offset + i) * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`
    )
    .join(" ");
  return (
    <svg class="spark" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}, last 60 seconds`}>
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}

const formats: Record<Series, (v: number) => string> = {
  activeConnections: (v) => String(v),
  messagesPerSecond: (v) => v.toFixed(2),
  averageLatency: (v) => `${v.toFixed(2)} ms`,
  errorRate: (v) => `${(v * 100).toFixed(2)} %`,
};

const titles: Record<Series, string> = {
  activeConnections: "Active connections",
  messagesPerSecond: "Frames per second",
  averageLatency: "Delivery latency",
  errorRate: "Error rate",
};

function Figure(props: { field: Series; status: WebSocketMetrics; history: number[] }) {
  const { field, status, history } = props;
  return (
    <section class="card">
      <h2>{titles[field]}</h2>
      <p class="figure" data-metric={field} data-value={status[field]}>{formats[field](status[field])}</p>
      <Sparkline values={history} label={titles[field]} />
    </section>
  );
}

function time(iso: string): string {
  return iso.slice(11, 19);
}

function push(feed: Signal<FeedEntry[]>, kind: string, text: string, at = new Date().toISOString()) {
  feed.value = [{ at, kind, text }, ...feed.value].slice(0, FEED);
}

/** A socket token bought with the session cookie, for a socket on the page's own host. */
async function panelToken(): Promise<TokenGrant> {
  const res = await fetch("/api/websocket/token", { method: "POST", credentials: "same-origin" });
  if (!res.ok) throw new Error(`Token request answered ${res.status}`);
  const { token, connectionUrl } = await res.json();
  const url = new URL(connectionUrl);
  // The page's own host reaches this service even when a proxy rewrote Host.
  url.host = location.host;
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  return { token, connectionUrl: url.href };
}

/**
 * Opens the panel's own realtime client: its figures from `metrics` frames, its feed from errors and
 * notifications, its link indicator from the client's status. The client's close rule applies: after a 4500
 * (an admin cut this very panel off) it does not come back, as coming back would undo that. Returns the stop.
 */
function connect(
  onMetrics: (metrics: WebSocketMetrics) => void,
  feed: Signal<FeedEntry[]>,
  link: Signal<Link>,
): () => void {
  const client = createRealtimeClient({
    getToken: panelToken,
    types: ["metrics"],
    // Capped at 10 s, so many open panels come back soon after a restart, yet not in step (full jitter).
    backoffBaseMs: 500,
    backoffMaxMs: 10_000,
  });
  client.onControl("metrics", (frame) => onMetrics(frame.data));
  client.onControl("error", (frame) => push(feed, "error", frame.data.message));
  client.onNotification((frame) => push(feed, frame.type, frame.message || frame.title));
  const stopMirroring = effect(() => {
    const status = client.status.value;
    link.value = status === "connected" ? "live" : status;
  });
  return () => {
    stopMirroring();
    client.dispose();
  };
}

/** The whole panel. Props are the server's figures at render time, so the first paint is already right. */
export default function AdminPanel(props: AdminPanelProps) {
  const status = useSignal(props.status);
  const connections = useSignal(props.connections);
  const health = useSignal(props.health);
  const history = useSignal<Record<Series, number[]>>(
    Object.fromEntries(SERIES.map((s) => [s, [props.status[s]]])) as Record<Series, number[]>,
  );
  const feed = useSignal<FeedEntry[]>([]);
  const link = useSignal<Link>("connecting");

  useEffect(() => {
    const stop = connect(
      (next) => {
        status.value = next;
        history.value = Object.fromEntries(
          SERIES.map((s) => [s, [...history.value[s], next[s]].slice(-HISTORY)]),
        ) as Record<Series, number[]>;
      },
      feed,
      link,
    );

    let polling = false;
    const poll = async () => {
      if (polling) return;
      polling = true;
      try {
        const [list, report] = await Promise.all([
          fetch("/api/admin/websocket/connections", { credentials: "same-origin" }),
          fetch("/health"),
        ]);
        if (list.ok) {
          const next: ConnectionRecord[] = await list.json();
          const before = new Set(connections.value.map((c) => c.id));
          const after = new Set(next.map((c) => c.id));
          for (const c of next) {
            if (!before.has(c.id)) push(feed, "connected", `${c.userName} (${c.userRole})`);
          }
          for (const c of connections.value) {
            if (!after.has(c.id)) push(feed, "disconnected", `${c.userName} (${c.userRole})`);
          }
          connections.value = next;
        }
        const body = await report.json();
        health.value = { status: body.status, checks: body.checks };
      } catch {
        // The next tick tries again; the link indicator already shows an outage.
      } finally {
        polling = false;
      }
    };
    const timer = setInterval(poll, 1000);
    return () => {
      stop();
      clearInterval(timer);
    };
  }, []);

  async function disconnect(id: string) {
    const res = await fetch(`/api/admin/websocket/connections/${encodeURIComponent(id)}`, {
      method: "DELETE",
      credentials: "same-origin",
    });
    if (res.status === 204 || res.status === 404) {
      connections.value = connections.value.filter((c) => c.id !== id);
      push(feed, "admin", `Disconnected ${id.slice(0, 8)}`);
    }
  }

  const s = status.value;
  return (
    <main class="panel">
      <header>
        <h1>JasaWeb Realtime</h1>
        <span class={`link link-${link.value}`} data-link={link.value}>{link.value}</span>
        <span class={`health health-${health.value.status}`} data-health={health.value.status}>
          {health.value.status}
        </span>
        <span class="who">{props.adminName}</span>
      </header>

      <div class="grid">
        {SERIES.map((field) => (
          <Figure
            key={field}
            field={field}
            status={s}
            history={history.value[field]}
          />
        ))}
        <section class="card">
          <h2>By role</h2>
          <p class="figure small">
            <span data-metric="connectionsByRole" data-role="admin">{s.connectionsByRole.admin}</span> admin ·
            {" "}
            <span data-metric="connectionsByRole" data-role="client">{s.connectionsByRole.client}</span>{" "}
            client
          </p>
          <p class="muted">
            <span data-metric="totalConnections">{s.totalConnections}</span> opened in all · updated{" "}
            <time data-metric="timestamp" dateTime={s.timestamp}>{time(s.timestamp)}</time>
          </p>
        </section>
      </div>

      <section class="card">
        <h2>Health checks</h2>
        <table>
          <tbody>
            {health.value.checks.map((c) => (
              <tr key={c.name} data-check={c.name}>
                <td>{c.name}</td>
                <td class={`check-${c.status}`}>{c.status}</td>
                <td>{String(c.value)}{c.threshold !== undefined ? ` / ${c.threshold}` : ""}</td>
                <td class="muted">{c.detail ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section class="card">
        <h2>Connections ({connections.value.length})</h2>
        <table class="connections">
          <thead>
            <tr>
              <th>User</th>
              <th>Role</th>
              <th>IP</th>
              <th>Connected</th>
              <th>Last activity</th>
              <th>Frames</th>
              <th>Agent</th>
              <th>
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {connections.value.map((c) => (
              <tr key={c.id} data-connection-id={c.id}>
                <td title={c.userId}>{c.userName || c.userId}</td>
                <td>{c.userRole}</td>
                <td>{c.clientIp}</td>
                <td>{time(c.connectedAt)}</td>
                <td>{time(c.lastActivity)}</td>
                <td>{c.messageCount}</td>
                <td class="muted agent" title={c.userAgent}>{c.userAgent}</td>
                <td>
                  <button type="button" onClick={() => disconnect(c.id)}>Disconnect</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section class="card">
        <h2>Recent events</h2>
        {/* Focusable, so keyboard users can scroll it once it overflows. */}
        <ol class="feed" tabIndex={0} aria-label="Recent events">
          {feed.value.length === 0 && <li class="muted">Nothing yet.</li>}
          {feed.value.map((e, i) => (
            <li key={`${e.at}-${i}`} data-event={e.kind}>
              <time>{time(e.at)}</time> <b>{e.kind}</b> {e.text}
            </li>
          ))}
        </ol>
      </section>
    </main>
  );
}
