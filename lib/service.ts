/**
 * The service: every part wired together for one isolate, with the loops that keep its KV records fresh.
 * Routes call this; it knows nothing of HTTP.
 */
import { AuthError, createSessionVerifier, type SocketIdentity } from "./auth.ts";
import { createSocketTokens } from "./socket_tokens.ts";
import { CLOSE, type CloseCause } from "./protocol.ts";
import type { Config } from "./config.ts";
import { createConnectionPlaces } from "./connection_places.ts";
import { type ConnectionRecord, createConnectionRegistry } from "./connections.ts";
import { createDeliveryStore } from "./deliveries.ts";
import { draftsFor } from "./events.ts";
import { createHub } from "./hub.ts";
import { createIsolateDirectory, ISOLATE_BEAT_MS } from "./isolates.ts";
import type { Logger } from "./log.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import {
  createNotificationStore,
  type NotificationDraft,
  type Positions,
  streamsOf,
} from "./notifications.ts";
import type { Relay, RelayEvent } from "./relay.ts";
import type { DomainEvent } from "./schemas.ts";
import {
  type SessionContext,
  type SessionLimits,
  type SessionServices,
  type SocketSession,
  startSession,
} from "./socket_session.ts";
import { createIsolateGauges } from "./gauges.ts";
import { healthProbeKey } from "./keys.ts";
import { createKvProbe } from "./kv_probe.ts";
import { createLiveness } from "./liveness.ts";

export interface ServiceDeps {
  config: Config;
  kv: Deno.Kv;
  relay: Relay;
  log: Logger;
  /** This isolate's metrics, when something built before the service (the relay) counts into them too. */
  metrics?: Metrics;
  now?: () => number;
}

export interface Admission {
  connectionId: string;
  identity?: SocketIdentity;
  /** Why the socket will be closed right after the upgrade, if it will be. */
  refusal?: CloseCause;
}

/** Longest an admitted socket may take to open before its admission is given back. */
const MAX_HANDSHAKE_MS = 10_000;

/** Frames a client may publish, and the domain event each becomes. */
const FRAME_EVENTS = {
  user_message: "message.sent",
  system_announcement: "announcement.published",
  admin_alert: "admin.alert",
  project_update: "project.status_changed",
  payment_update: "invoice.status_changed",
} as const;

/** Builds the service for this isolate. Call `start()` to run its loops and `shutdown()` to end them. */
export function createService(deps: ServiceDeps) {
  const { config, kv, relay, log } = deps;
  const now = deps.now ?? Date.now;
  const isolateId = crypto.randomUUID();
  const startedAt = now();
  const metrics = deps.metrics ?? createMetrics();
  const store = createNotificationStore(kv, { ttlMs: config.notificationTtlMs, now });
  const deliveries = createDeliveryStore(kv, { ttlMs: config.notificationTtlMs, now });
  const hub = createHub({ readRange: store.range, metrics, now });
  const isolates = createIsolateDirectory(kv, now);
  const registry = createConnectionRegistry(kv, {
    isolateId,
    isolates,
    recordTtlMs: Math.max(config.heartbeatIntervalMs * 3, 15_000),
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
      for (const connectionId of [...admitting.keys()]) abandon(connectionId);
      hub.closeAll(CLOSE.tryAgainLater.code, CLOSE.tryAgainLater.reason);
    },
  });
  const socketTokens = createSocketTokens(config.wsTokenSecret, config.tokenTtlSeconds, now);
  const verifySession = createSessionVerifier(config.session);
  const gauges = createIsolateGauges(metrics, hub, relay, now);
  const kvProbe = createKvProbe(kv, healthProbeKey(isolateId));
  const liveness = createLiveness(config.heartbeatIntervalMs, config.connectionTimeoutMs, log);
  const timers: ReturnType<typeof setInterval>[] = [];
  let stopping = false;
  /**
   * Sockets admitted but not yet open count against MAX_CONNECTIONS too, until `attach` (open) or `abandon`
   * (closed before opening, or still not open at its deadline) takes them out: between the two, they are here
   * and not in the hub. A client that drops during the handshake gets neither `open` nor `close` from Deno,
   * so the once-a-second sweep gives such admissions back; one timer for all rather than one per handshake.
   */
  const admitting = new Map<string, { deadline: number }>();
  const handshakeLimitMs = Math.min(config.connectionTimeoutMs, MAX_HANDSHAKE_MS);

  relay.subscribe((event: RelayEvent) => {
    if (event.origin === isolateId) return;
    metrics.observe("realtime_relay_lag_seconds", Math.max(0, now() - event.sentAt) / 1000);
    if (event.kind === "notification") {
      if (event.head) store.noteHead(event.notification.stream, event.head);
      hub.deliver(event.notification, event.acceptedAt);
    } else {hub.get(event.connectionId)?.close(
        CLOSE.disconnectedByAdmin.code,
        CLOSE.disconnectedByAdmin.reason,
      );}
  });

  /** Stores drafts durably, then hands them to local sockets and the relay. Resolves after the KV commit. */
  async function publish(drafts: NotificationDraft[], webhookId?: string) {
    const acceptedAt = now();
    const result = await store.append(drafts, webhookId);
    for (const notification of result.notifications) {
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
    return result;
  }

  /** Stores and delivers the notifications of one domain event. */
  function publishEvent(event: DomainEvent, webhookId?: string) {
    return publish(draftsFor(event), webhookId);
  }

  function toRecord(s: SocketSession): ConnectionRecord {
    return {
      id: s.id,
      userId: s.identity.userId,
      userName: s.identity.name,
      userRole: s.identity.role,
      clientIp: s.clientIp,
      userAgent: s.userAgent,
      connectedAt: new Date(s.connectedAt).toISOString(),
      lastActivity: new Date(s.lastActivity).toISOString(),
      messageCount: s.messageCount,
      isolateId,
    };
  }

  /** A socket's record, to be built only if it is written. */
  const recordOf = (s: SocketSession) => ({ id: s.id, record: () => toRecord(s) });

  /** Checks a socket token and the limits before the upgrade; the socket learns the verdict once open. */
  async function admit(token: string | undefined, clientIp: string): Promise<Admission> {
    const connectionId = crypto.randomUUID();
    let identity: SocketIdentity;
    try {
      identity = await socketTokens.verify(token);
    } catch (error) {
      metrics.inc("realtime_auth_failures_total", {
        reason: error instanceof AuthError ? error.reason : "invalid",
      });
      return { connectionId, refusal: "invalidAuth" };
    }
    if (stopping) return { connectionId, identity, refusal: "shuttingDown" };
    if (hub.size + admitting.size >= config.maxConnections) {
      metrics.inc("realtime_rate_limited_total", { kind: "isolate" });
      return { connectionId, identity, refusal: "tryAgainLater" };
    }
    const deadline = now() + handshakeLimitMs;
    admitting.set(connectionId, { deadline });
    const claim = await places.claim(connectionId, identity.userId, clientIp, deadline);
    if (claim === "ok") return { connectionId, identity };
    admitting.delete(connectionId);
    if (claim === "busy") {
      // The places could not be decided before the handshake's deadline (KV contended or failing).
      metrics.inc("realtime_rate_limited_total", { kind: "places_busy" });
      return { connectionId, identity, refusal: "tryAgainLater" };
    }
    metrics.inc("realtime_rate_limited_total", { kind: claim === "user_limit" ? "user" : "ip" });
    return { connectionId, identity, refusal: "connectionLimit" };
  }

  // What every socket's session shares, allocated once rather than per socket.
  const sessionLimits: SessionLimits = {
    messageSizeLimit: config.messageSizeLimit,
    messageRatePerMinute: config.messageRatePerMinute,
    heartbeatInterval: config.heartbeatIntervalMs,
    connectionTimeout: config.connectionTimeoutMs,
    bufferSize: config.bufferSize,
  };
  const sessionServices: SessionServices = {
    verifyToken: (token) => socketTokens.verify(token),
    positions: store.heads,
    scan: (stream, after) => store.scan(stream, after),
    acknowledge: deliveries.acknowledge,
    publishFrame: async (identity, type, data) => {
      const payload = type === "user_message"
        ? {
          ...(data as object),
          fromUserId: identity.userId,
          fromUserName: identity.name || identity.userId,
        }
        : data;
      const event = { type: FRAME_EVENTS[type], data: payload } as DomainEvent;
      const { notifications } = await publishEvent(event);
      return notifications[0].id;
    },
  };
  const sessionContext: SessionContext = {
    limits: sessionLimits,
    services: sessionServices,
    metrics,
    log,
    now,
    onOpen(session: SocketSession) {
      hub.add(session);
      metrics.inc("realtime_connections_opened_total");
      registry.save([recordOf(session)]).catch((error) =>
        log.warn("Record not saved", { connectionId: session.id, error })
      );
      log.info("Socket open", { connectionId: session.id, userId: session.userId, role: session.role });
    },
    onWelcomed: (_session: SocketSession, positions: Positions) => hub.notePositions(positions),
    onClosed(session: SocketSession) {
      hub.remove(session);
      places.release(session.id);
      registry.remove(session.id).catch((error) =>
        log.warn("Record not deleted", { connectionId: session.id, error })
      );
      log.info("Socket closed", { connectionId: session.id });
    },
  };

  /**
   * Runs the protocol on a freshly opened socket that was admitted; false (and nothing started) when its
   * admission was given back meanwhile because the handshake took too long.
   */
  function attach(
    ws: WebSocket,
    admission: Admission & { identity: SocketIdentity },
    clientIp: string,
    ua: string,
  ): boolean {
    if (!admitting.delete(admission.connectionId)) return false;
    startSession(ws, sessionContext, {
      connectionId: admission.connectionId,
      identity: admission.identity,
      streams: streamsOf(admission.identity.userId, admission.identity.role),
      clientIp,
      userAgent: ua,
    });
    return true;
  }

  /** Gives back the places of a socket that was admitted but never opened (once, whoever calls first). */
  function abandon(connectionId: string) {
    if (!admitting.delete(connectionId)) return;
    places.release(connectionId);
  }

  /** Closes a socket with 4500 wherever it lives; false when no live socket has that id. */
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

  async function beat() {
    await isolates.beat({ isolateId, startedAt, gauges: gauges.sample(), metrics: metrics.snapshot() });
  }

  /** Closes sockets whose token expired, and gives back admissions whose handshake never finished. */
  function sweep() {
    const t = now();
    for (const conn of hub.connections()) {
      const session = conn as SocketSession;
      if (session.identity.expiresAt <= t) session.closeWith("tokenExpired");
    }
    for (const [connectionId, { deadline }] of admitting) if (deadline <= t) abandon(connectionId);
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

  return {
    config,
    kv,
    isolateId,
    metrics,
    store,
    hub,
    registry,
    places,
    isolates,
    socketTokens,
    verifySession,
    relay,
    log,
    now,
    admit,
    attach,
    abandon,
    publish,
    publishEvent,
    disconnect,
    gauges,
    kvProbe,
    liveness,

    /**
     * Starts the loops: isolate heartbeat, the `/health` KV probe, record refresh, token expiry and handshake
     * deadlines, the janitor of dead isolates' connection places, metrics.
     */
    async start() {
      await beat();
      // After the first beat: a janitor takes a holder whose isolate has no heartbeat for a dead one's.
      await places.register();
      await kvProbe.start();
      every(ISOLATE_BEAT_MS, beat);
      every(ISOLATE_BEAT_MS, () => places.reclaimDead());
      every(
        config.heartbeatIntervalMs,
        () => registry.save([...hub.connections()].map((c) => recordOf(c as SocketSession))),
      );
      every(1000, sweep);
      every(1000, async () => {
        if (!hub.hasMetricsSubscribers()) return;
        const status = await gauges.status(isolates, isolateId);
        hub.sendMetrics(JSON.stringify({ type: "metrics", data: status, timestamp: status.timestamp }));
      });
    },

    /** Closes every socket 1001 and stops the loops. */
    async shutdown() {
      stopping = true;
      for (const timer of timers) clearInterval(timer);
      hub.closeAll(CLOSE.shuttingDown.code, CLOSE.shuttingDown.reason);
      await kvProbe.stop();
      await places.close();
      await isolates.leave(isolateId).catch(() => {});
      await relay.close();
    },
  };
}

export type Service = ReturnType<typeof createService>;
