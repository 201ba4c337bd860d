/**
 * One authenticated socket: the frame protocol of SPEC §5. Transport only: it reads and writes frames,
 * checks them against their schemas and the socket's limits, and calls the service for everything else.
 * It never parses a token itself; `auth` frames go to the injected verifier.
 */
import type { SocketIdentity } from "./auth.ts";
import { CLOSE, type CloseCause } from "./close_codes.ts";
import { type HubConnection, notificationFrame } from "./hub.ts";
import type { Stream } from "./keys.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { Positions, StoredNotification } from "./notifications.ts";
import { createOutbound } from "./outbound.ts";
import { createFrameRateLimiter } from "./rate_limit.ts";
import { parseSafeJson } from "./safe_json.ts";
import {
  CLIENT_FRAME_TYPES,
  clientDataSchemas,
  clientEnvelopeSchema,
  type ClientFrameType,
  type NotificationType,
} from "./schemas.ts";
import type { z } from "zod";

export interface SessionLimits {
  messageSizeLimit: number;
  messageRatePerMinute: number;
  heartbeatInterval: number;
  connectionTimeout: number;
  bufferSize: number;
}

/** What a socket asks of the rest of the service. */
export interface SessionServices {
  /** Verifies a fresh socket token for `auth`. */
  verifyToken(token: string): Promise<SocketIdentity>;
  /** Current heads of these streams. */
  positions(streams: Stream[]): Promise<Positions>;
  /** Stored notifications of a stream after a seq, in order. */
  readAfter(stream: Stream, after: number): Promise<StoredNotification[]>;
  acknowledge(userId: string, ids: string[]): Promise<void>;
  /** Stores and delivers what a client frame publishes; returns the id of the (first) notification. */
  publishFrame(
    identity: SocketIdentity,
    type: "user_message" | "system_announcement" | "admin_alert" | "project_update" | "payment_update",
    data: unknown,
  ): Promise<string>;
}

export interface SessionInit {
  connectionId: string;
  identity: SocketIdentity;
  streams: Stream[];
  clientIp: string;
  userAgent: string;
  limits: SessionLimits;
  services: SessionServices;
  metrics: Metrics;
  /** The service's logger; the session adds its connection id to what it logs. */
  log: Logger;
  now: () => number;
  /** Called once when the socket is gone, whatever closed it. */
  onClosed(session: SocketSession): void;
  /** Called first, before the welcome reads positions, so no live notification can slip between them. */
  onOpen(session: SocketSession): void;
  /** Called once the welcome has been sent, with the positions it carried. */
  onWelcomed(session: SocketSession, positions: Positions): void;
}

const ADMIN_FRAMES = new Set(["system_announcement", "admin_alert", "project_update", "payment_update"]);

const encoder = new TextEncoder();

export interface SocketSession extends HubConnection {
  readonly identity: SocketIdentity;
  readonly clientIp: string;
  readonly userAgent: string;
  readonly connectedAt: number;
  readonly lastActivity: number;
  readonly messageCount: number;
  closeWith(cause: CloseCause): void;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Runs the protocol on an upgraded socket whose identity and limits were checked before the upgrade. */
export function startSession(ws: WebSocket, init: SessionInit): SocketSession {
  const { limits, services, metrics, now } = init;
  // Made on first use: most sockets never log, and a child logger per socket is memory held for nothing.
  let connLog: Logger | undefined;
  const log = () => connLog ??= init.log.with({ connectionId: init.connectionId });
  const outbound = createOutbound(ws, limits.bufferSize);
  const rate = createFrameRateLimiter(limits.messageRatePerMinute, now);
  /** Per stream, the highest seq this socket was sent (or that its welcome said was past). */
  const positions = new Map<string, number>();
  /** Per stream, the head at the welcome: what lies at or below it was never sent on this socket. */
  const welcomed = new Map<string, number>();
  /** Live notifications held back while a resume replays from the store. */
  let held: StoredNotification[] | null = [];
  let types: Set<NotificationType> | null = null;
  let closed = false;

  const send = (frame: string) => {
    if (!outbound.push(frame)) session.closeWith("slowConsumer");
  };
  const control = (type: string, data: unknown) =>
    send(JSON.stringify({ type, data, timestamp: new Date(now()).toISOString() }));
  /** Adds `replyTo` to an answer's data when the client's frame carried an `id`. */
  const replying = <T extends object>(
    data: T,
    replyTo: unknown,
  ) => (replyTo === undefined ? data : { ...data, replyTo });
  const error = (code: string, message: string, replyTo?: unknown) => {
    metrics.inc("realtime_frames_total", { direction: "out", type: "error" });
    control("error", replying({ code, message }, replyTo));
  };

  function pass(n: StoredNotification, frame?: string) {
    if (n.seq <= (positions.get(n.stream) ?? 0)) return;
    positions.set(n.stream, n.seq);
    if (types && !types.has(n.type)) return;
    send(frame ?? notificationFrame(n));
  }

  // Plain data fields, updated in place: getters over closure variables would put this object, one per
  // socket, in V8's slow dictionary mode (about 1 KiB more per socket).
  const session: Mutable<SocketSession> = {
    id: init.connectionId,
    identity: init.identity,
    userId: init.identity.userId,
    role: init.identity.role,
    clientIp: init.clientIp,
    userAgent: init.userAgent,
    connectedAt: now(),
    lastActivity: now(),
    messageCount: 0,
    wantsMetrics: false,
    deliver(n, frame) {
      if (closed) return;
      if (held) held.push(n);
      else pass(n, frame);
    },
    sendControl(frame) {
      if (!closed) send(frame);
    },
    close(code, reason) {
      if (closed) return;
      closed = true;
      outbound.clear();
      try {
        ws.close(code, reason);
      } catch {
        // Already closing.
      }
      finish();
    },
    closeWith(cause) {
      const { code, reason } = CLOSE[cause];
      if (cause === "slowConsumer") metrics.inc("realtime_slow_consumers_total");
      log().info("Closing socket", { code, reason });
      session.close(code, reason);
    },
  };

  let finished = false;
  function finish() {
    if (finished) return;
    finished = true;
    closed = true;
    outbound.clear();
    init.onClosed(session);
  }

  /**
   * Replays what the client lacks after `from`: what was stored before this socket's welcome, and whatever
   * this socket has not been sent yet; never what it was already sent. Live notifications arriving meanwhile
   * are held and released after the replay, so each goes out once.
   */
  async function replay(from: Positions): Promise<number> {
    held ??= [];
    let replayed = 0;
    try {
      for (const stream of init.streams) {
        const welcomedAt = welcomed.get(stream) ?? 0;
        const sentUpTo = positions.get(stream) ?? 0;
        for (const n of await services.readAfter(stream, from[stream] ?? 0)) {
          if (n.seq > welcomedAt && n.seq <= sentUpTo) continue;
          positions.set(stream, Math.max(positions.get(stream) ?? 0, n.seq));
          if (types && !types.has(n.type)) continue;
          send(notificationFrame(n));
          replayed++;
        }
      }
    } finally {
      const pending = held;
      held = null;
      for (const n of pending.sort((a, b) => a.seq - b.seq)) pass(n);
    }
    return replayed;
  }

  async function welcome() {
    const heads = await services.positions(init.streams);
    for (const [stream, seq] of Object.entries(heads)) {
      positions.set(stream, seq);
      welcomed.set(stream, seq);
    }
    control("welcome", {
      connectionId: init.connectionId,
      userId: session.userId,
      role: session.role,
      expiresAt: new Date(session.identity.expiresAt).toISOString(),
      positions: heads,
      limits: {
        messageSizeLimit: limits.messageSizeLimit,
        messageRatePerMinute: limits.messageRatePerMinute,
        heartbeatInterval: limits.heartbeatInterval,
        connectionTimeout: limits.connectionTimeout,
      },
    });
    control("system_announcement", {
      title: "Connected",
      message: "Real-time updates are now active",
      priority: "low",
    });
    init.onWelcomed(session, heads);
    const pending = held ?? [];
    held = null;
    for (const n of pending.sort((a, b) => a.seq - b.seq)) pass(n);
  }

  async function handle(type: ClientFrameType, data: unknown, replyTo: unknown) {
    switch (type) {
      case "ping":
        control("pong", { replyTo: replyTo ?? null, serverTime: new Date(now()).toISOString() });
        return;
      case "subscribe":
      case "unsubscribe": {
        const { types: requested } = data as z.infer<typeof clientDataSchemas.subscribe>;
        if (requested.includes("metrics") && session.role !== "admin") {
          return error("forbidden", 'Only admins may subscribe to "metrics"', replyTo);
        }
        const add = type === "subscribe";
        for (const t of requested) {
          if (t === "metrics") session.wantsMetrics = add;
          else if (add) (types ??= new Set()).add(t);
          else types?.delete(t);
        }
        if (types?.size === 0) types = null;
        return;
      }
      case "resume": {
        const { positions: from } = data as z.infer<typeof clientDataSchemas.resume>;
        const replayed = await replay(from);
        control("resumed", replying({ replayed, positions: Object.fromEntries(positions) }, replyTo));
        return;
      }
      case "ack":
        await services.acknowledge(session.userId, (data as { ids: string[] }).ids);
        return;
      case "auth": {
        const { token } = data as { token: string };
        try {
          const fresh = await services.verifyToken(token);
          if (fresh.userId !== session.userId || fresh.role !== session.role) throw new Error("Other user");
          session.identity = fresh;
          const reply = { expiresAt: new Date(fresh.expiresAt).toISOString() };
          control("auth_ok", replying(reply, replyTo));
        } catch {
          metrics.inc("realtime_auth_failures_total", { reason: "refresh" });
          session.closeWith("invalidAuth");
        }
        return;
      }
      default: {
        if (ADMIN_FRAMES.has(type) && session.role !== "admin") {
          return error("forbidden", `Unauthorized for message type: ${type}`, replyTo);
        }
        if (
          type === "user_message" && session.role !== "admin" &&
          (data as { toUserId: string }).toUserId !== "admins"
        ) {
          return error("forbidden", 'Clients may only write to "admins"', replyTo);
        }
        const id = await services.publishFrame(session.identity, type, data);
        control("sent", { replyTo: replyTo ?? null, id });
      }
    }
  }

  ws.onmessage = (event: MessageEvent) => {
    if (closed) return;
    session.lastActivity = now();
    session.messageCount++;
    if (typeof event.data !== "string") {
      metrics.inc("realtime_frames_total", { direction: "in", type: "binary" });
      return session.closeWith("invalidData");
    }
    const text = event.data;
    // A UTF-16 length over the limit is surely too big; otherwise count the bytes exactly.
    if (text.length > limits.messageSizeLimit || encoder.encode(text).length > limits.messageSizeLimit) {
      metrics.inc("realtime_frames_total", { direction: "in", type: "oversized" });
      return session.closeWith("tooBig");
    }
    const verdict = rate.hit();
    if (verdict !== "ok") {
      metrics.inc("realtime_rate_limited_total", { kind: verdict === "abusive" ? "socket_closed" : "frame" });
      if (verdict === "abusive") return session.closeWith("rateLimit");
      return error("rate_limited", `More than ${limits.messageRatePerMinute} frames a minute; frame dropped`);
    }
    const parsed = parseSafeJson(text);
    if (!parsed.ok) {
      metrics.inc("realtime_frames_total", { direction: "in", type: "invalid" });
      if (parsed.reason === "syntax") return session.closeWith("invalidData");
      return error(
        "invalid_payload",
        parsed.reason === "too_deep" ? "Frame is nested too deeply" : "Frame has a forbidden key",
      );
    }
    const envelope = clientEnvelopeSchema.safeParse(parsed.value);
    if (!envelope.success) {
      metrics.inc("realtime_frames_total", { direction: "in", type: "invalid" });
      return error("invalid_payload", "Frame must be an object with a string type");
    }
    const { type, id: replyTo } = envelope.data;
    if (!(CLIENT_FRAME_TYPES as readonly string[]).includes(type)) {
      metrics.inc("realtime_frames_total", { direction: "in", type: "unknown" });
      return error("invalid_type", `Unknown frame type "${type.slice(0, 64)}"`, replyTo);
    }
    const frameType = type as ClientFrameType;
    metrics.inc("realtime_frames_total", { direction: "in", type: frameType });
    const data = clientDataSchemas[frameType].safeParse(envelope.data.data);
    if (!data.success) {
      const issue = data.error.issues[0];
      const where = issue?.path.length ? ` at data.${issue.path.join(".")}` : "";
      return error(
        "invalid_payload",
        `Invalid ${frameType} frame${where}: ${issue?.message ?? "invalid"}`,
        replyTo,
      );
    }
    handle(frameType, data.data, replyTo).catch((e) => {
      log().error("Frame handling failed", { type: frameType, error: e });
      error("internal_error", "The frame could not be handled; try again", replyTo);
    });
  };
  ws.onclose = () => finish();
  ws.onerror = () => {};

  init.onOpen(session);
  welcome().catch((e) => {
    log().error("Welcome failed", { error: e });
    session.close(1011, "Internal error");
  });
  return session;
}
