/**
 * The live status panel: server-rendered with the figures of the moment, then hydrated in the browser where it
 * subscribes to `metrics` frames over its own socket (one a second) and polls the connection list and the
 * health checks. Every figure carries `data-metric="<WebSocketMetrics field>"`, every row `data-connection-id`.
 */
import { type Signal, useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { WebSocketMetrics } from "../lib/gauges.ts";
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

/** Opens the panel's own socket and keeps it open; resolves nothing, cleans up through the returned stop. */
function connect(
  onFrame: (frame: { type: string; data: Record<string, unknown> }) => void,
  link: Signal<Link>,
) {
  let socket: WebSocket | undefined;
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;

  async function open() {
    link.value = "connecting";
    try {
      const res = await fetch("/api/websocket/token", { method: "POST", credentials: "same-origin" });
      if (!res.ok) throw new Error(`Token request answered ${res.status}`);
      const { token, connectionUrl } = await res.json();
      const url = new URL(connectionUrl);
      // The page's own host reaches this service even when a proxy rewrote Host.
      url.host = location.host;
      url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
      socket = new WebSocket(url, ["realtime.v1", token]);
    } catch {
      return later();
    }
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "welcome") {
        attempt = 0;
        link.value = "live";
        socket?.send(JSON.stringify({ type: "subscribe", data: { types: ["metrics"] } }));
      }
      onFrame(frame);
    };
    socket.onclose = (event) => {
      link.value = "offline";
      // 4500: an admin cut this very panel off; coming back would undo that.
      if (event.code !== 4500) later();
    };
  }

  function later() {
    if (stopped) return;
    // Full jitter, capped at 10 s, so many open panels do not reconnect in step after a restart.
    const delay = Math.random() * Math.min(10_000, 500 * 2 ** attempt++);
    retry = setTimeout(open, delay);
  }

  open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    socket?.close(1000);
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
    const stop = connect((frame) => {
      if (frame.type === "metrics") {
        const next = frame.data as unknown as WebSocketMetrics;
        status.value = next;
        history.value = Object.fromEntries(
          SERIES.map((s) => [s, [...history.value[s], next[s]].slice(-HISTORY)]),
        ) as Record<Series, number[]>;
      } else if (frame.type === "error") {
        push(feed, "error", String(frame.data.message));
      } else if (frame.type !== "welcome" && frame.type !== "pong") {
        const title = frame.data.title ?? frame.data.subject ?? frame.data.event ?? "";
        push(feed, frame.type, String(frame.data.message ?? title));
      }
    }, link);

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
