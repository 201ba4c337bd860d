/**
 * The service: every part wired together for one isolate, the loops that keep its KV records fresh, and the
 * few operations routes call (`Service`). Routes never reach past these to its parts; it knows nothing of HTTP.
 */
import { type Admission, createAdmissionControl, type SocketClient } from "./admission.ts";
import { createSessionVerifier, type Role, type SessionVerifier } from "./auth.ts";
import type { Config } from "./config.ts";
import { createConnectionPlaces } from "./connection_places.ts";
import { type ConnectionRecord, createConnectionRegistry } from "./connections.ts";
import { createDeliveryStore } from "./deliveries.ts";
import { draftsFor } from "./events.ts";
import { createIsolateGauges } from "./gauges.ts";
import type { HealthReport } from "./health.ts";
import { createHub } from "./hub.ts";
import { createIsolateDirectory, ISOLATE_BEAT_MS } from "./isolates.ts";
import { createKvProbe } from "./kv_probe.ts";
import { createLiveness } from "./liveness.ts";
import type { Logger } from "./log.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { type AppendResult, createNotificationStore, type NotificationDraft } from "./notifications.ts";
import { CLOSE, type WebSocketMetrics } from "./protocol.ts";
import type { ListOptions, NotificationPage } from "./read_states.ts";
import type { Relay, RelayEvent } from "./relay.ts";
import type { DomainEvent } from "./schemas.ts";
import { createServiceReports } from "./service_reports.ts";
import { createSocketLifecycle } from "./socket_lifecycle.ts";
import type { SocketSession } from "./socket_session.ts";
import { createSocketTokens, type SocketTokens } from "./socket_tokens.ts";

/**
 * The shortest life of a connection record: a socket that only answers pings has its record rewritten every
 * half of it (lib/connections.ts), and a crashed isolate's records leave KV within it.
 */
const RECORD_TTL_FLOOR_MS = 10 * 60_000;

export interface ServiceDeps {
  config: Config;
  kv: Deno.Kv;
  relay: Relay;
  log: Logger;
  /** This isolate's metrics, when something built before the service (the relay) counts into them too. */
  metrics?: Metrics;
  now?: () => number;
}

/** What a publication did: stored (or found a duplicate of its webhook id), and handed to local readers. */
export interface Published extends AppendResult {
  /** Sockets on this isolate that read the notifications' streams (a socket reading two is counted twice). */
  delivered: number;
}

/** What routes, middleware and the process may ask of the service. */
export interface Service {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
  /** Checks a platform session token. */
  readonly verifySession: SessionVerifier;
  readonly socketTokens: SocketTokens;

  /** Deno's `idleTimeout` for the upgrade: the connection timeout, in seconds (lib/liveness.ts). */
  readonly socketIdleTimeoutSeconds: number;
  /** Checks a socket token and the limits before the upgrade; the socket learns the verdict once open. */
  admit(token: string | undefined, client: SocketClient): Promise<Admission>;
  /** Gives back the admission of a socket whose upgrade failed. */
  abandon(connectionId: string): void;
  /** Serves an upgraded socket, admitted or refused, through its life (lib/socket_lifecycle.ts). */
  serveSocket(ws: WebSocket, admission: Admission): void;
  /** Sockets open on this isolate now. */
  openSockets(): number;

  /** Stores drafts durably, then hands them to local sockets and the relay. Resolves after the KV commit. */
  publish(drafts: NotificationDraft[], webhookId?: string): Promise<Published>;
  /** Stores and delivers the notifications of one domain event. */
  publishEvent(event: DomainEvent, webhookId?: string): Promise<Published>;
  /** One page of a user's notifications, newest first (`realtime_notification_list_entries_total` counts). */
  listNotifications(userId: string, role: Role, options: ListOptions): Promise<NotificationPage>;
  /** Marks one notification read for this user; false when it is not theirs to read. */
  markRead(userId: string, role: Role, id: string): Promise<boolean>;
  /** Marks everything currently in the user's streams read; returns how many were unread. */
  markAllRead(userId: string, role: Role): Promise<number>;

  /** `WebSocketMetrics` (README "GET /api/admin/websocket/status"), across every live isolate. */
  status(): Promise<WebSocketMetrics>;
  /** The health report of `/health` and the status panel. */
  health(): Promise<HealthReport>;
  /** Every live isolate's metrics as Prometheus text. */
  scrape(): Promise<string>;
  /** Every live socket's record on every live isolate, oldest connection first. */
  connections(): Promise<ConnectionRecord[]>;
  /** Closes a socket with 4500 wherever it lives; false when no live socket has that id. */
  disconnect(connectionId: string): Promise<boolean>;

  /**
   * Starts the loops: isolate heartbeat (also the `/health` KV probe), record refresh, token expiry and handshake
   * deadlines, the janitor of dead isolates' connection places, metrics.
   */
  start(): Promise<void>;
  /** Closes every socket 1001 and stops the loops. */
  shutdown(): Promise<void>;
}

/** Builds the service for this isolate. Call `start()` to run its loops and `shutdown()` to end them. */
export function createService(deps: ServiceDeps) {
  const { config, kv, relay, log } = deps;
  const now = deps.now ?? Date.now;
  const isolateId = crypto.randomUUID();
  const startedAt = now();
  const metrics = deps.metrics ?? createMetrics();
  const store = createNotificationStore(kv, { ttlMs: config.notificationTtlMs, now });
  const deliveries = createDeliveryStore(kv, { ttlMs: config.notificationTtlMs, now });
  const hub = createHub<SocketSession>({ readRange: store.range, metrics, log, now });
  const isolates = createIsolateDirectory(kv, now);
  const registry = createConnectionRegistry(kv, {
    isolateId,
    isolates,
    recordTtlMs: Math.max(config.heartbeatIntervalMs * 3, RECORD_TTL_FLOOR_MS),
    now,
  });
  const places = createConnectionPlaces(kv, {
    isolateId,
    isolates,
    perUser: config.rateLimitPerUser,
    perIp: config.rateLimitPerIp,
    log,
    now,
    // Taken for dead (no heartbeat for seconds) while alive: its places were given back, so its sockets, open
    // or opening, must go and claim again. 1013 tells their clients to back off and reconnect.
    onLost() {
      admission.abandonAll();
      hub.closeAll(CLOSE.tryAgainLater.code, CLOSE.tryAgainLater.reason);
    },
  });
  const socketTokens = createSocketTokens(config.wsTokenSecret, config.tokenTtlSeconds, now);
  const admission = createAdmissionControl({
    maxConnections: config.maxConnections,
    connectionTimeoutMs: config.connectionTimeoutMs,
    socketTokens,
    places,
    openCount: () => hub.size,
    metrics,
    now,
  });
  const gauges = createIsolateGauges(metrics, hub, relay, now);
  // The heartbeat is the /health KV probe's round trip: one durable commit a second, not two.
  const kvProbe = createKvProbe(beat, { intervalMs: ISOLATE_BEAT_MS });
  const liveness = createLiveness(config.heartbeatIntervalMs, config.connectionTimeoutMs, log);
  const reports = createServiceReports({
    gauges,
    isolates,
    isolateId,
    kvProbe,
    relay,
    maxConnectionsPerIsolate: config.maxConnections,
    now,
  });
  const sockets = createSocketLifecycle({
    config,
    hub,
    admission,
    records: registry,
    liveness,
    store: { positions: store.heads, scan: (stream, after) => store.scan(stream, after) },
    acknowledge: deliveries.acknowledge,
    publish: (event) => publishEvent(event),
    verifyToken: (token) => socketTokens.verify(token),
    metrics,
    log,
    now,
  });
  const timers: ReturnType<typeof setInterval>[] = [];

  relay.subscribe((event: RelayEvent) => {
    if (event.origin === isolateId) return;
    metrics.observe("realtime_relay_lag_seconds", Math.max(0, now() - event.sentAt) / 1000);
    if (event.kind === "notification") {
      if (event.head) store.noteHead(event.notification.stream, event.head);
      hub.deliver(event.notification, event.acceptedAt);
    } else {
      hub.get(event.connectionId)?.close(CLOSE.disconnectedByAdmin.code, CLOSE.disconnectedByAdmin.reason);
    }
  });

  async function publish(drafts: NotificationDraft[], webhookId?: string): Promise<Published> {
    const acceptedAt = now();
    const result = await store.append(drafts, webhookId);
    let delivered = 0;
    for (const notification of result.notifications) {
      delivered += hub.readerCount(notification.stream);
      hub.deliver(notification, acceptedAt);
      const head = result.heads?.get(notification.stream);
      relay.publish({
        kind: "notification",
        notification,
        head,
        acceptedAt,
        sentAt: now(),
        origin: isolateId,
      });
    }
    return { ...result, delivered };
  }

  function publishEvent(event: DomainEvent, webhookId?: string): Promise<Published> {
    return publish(draftsFor(event), webhookId);
  }

  async function disconnect(connectionId: string): Promise<boolean> {
    const local = hub.get(connectionId);
    if (local) {
      local.close(CLOSE.disconnectedByAdmin.code, CLOSE.disconnectedByAdmin.reason);
      return true;
    }
    const record = await registry.get(connectionId);
    if (!record) return false;
    await relay.publish({ kind: "disconnect", connectionId, sentAt: now(), origin: isolateId });
    return true;
  }

  async function beat(): Promise<void> {
    await isolates.beat({ isolateId, startedAt, gauges: gauges.sample(), metrics: metrics.snapshot() });
  }

  function every(ms: number, task: () => unknown) {
    timers.push(setInterval(async () => {
      try {
        await task();
      } catch (error) {
        log.warn("Background task failed", { error });
      }
    }, ms));
  }

  const service: Service = {
    config,
    log,
    metrics,
    now,
    verifySession: createSessionVerifier(config.session),
    socketTokens,

    socketIdleTimeoutSeconds: liveness.idleTimeoutSeconds,
    admit: admission.admit,
    abandon: admission.abandon,
    serveSocket: sockets.serve,
    openSockets: () => hub.size,

    publish,
    publishEvent,
    async listNotifications(userId, role, options) {
      const { examined, ...page } = await store.list(userId, role, options);
      metrics.inc("realtime_notification_list_entries_total", undefined, examined);
      return page;
    },
    markRead: store.markRead,
    markAllRead: store.markAllRead,

    status: reports.status,
    health: reports.health,
    scrape: reports.scrape,
    connections: registry.list,
    disconnect,

    async start() {
      await beat();
      // After the first beat: a janitor takes a holder whose isolate has no heartbeat for a dead one's.
      await places.register();
      await kvProbe.start(); // beats from now on, once every ISOLATE_BEAT_MS
      every(ISOLATE_BEAT_MS, () => places.reclaimDead());
      every(config.heartbeatIntervalMs, sockets.refreshRecords);
      every(1000, () => {
        const t = now();
        sockets.closeExpired(t);
        admission.expire(t);
      });
      every(1000, async () => {
        if (!hub.hasMetricsSubscribers()) return;
        const status = await reports.status();
        hub.sendMetrics(JSON.stringify({ type: "metrics", data: status, timestamp: status.timestamp }));
      });
    },

    async shutdown() {
      admission.stop();
      for (const timer of timers) clearInterval(timer);
      hub.closeAll(CLOSE.shuttingDown.code, CLOSE.shuttingDown.reason);
      await kvProbe.stop();
      await places.close();
      await isolates.leave(isolateId).catch(() => {});
      await relay.close();
    },
  };

  return {
    ...service,
    /** The parts the service wires, for tests that look inside; routes see only `Service`. */
    parts: { hub, store, registry, isolates, relay },
  };
}

export type ServiceWithParts = ReturnType<typeof createService>;
