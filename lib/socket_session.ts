/**
 * One authenticated socket: the frame protocol of SPEC §5. Transport only: it reads and writes frames,
 * checks them against their schemas and the socket's limits, and calls the service for everything else.
 * It never parses a token itself; `auth` frames go to the injected verifier.
 */
import { ACK_IDS_PER_MINUTE, type AckBudget, acknowledgeWithin, createAckBudget } from "./socket_acks.ts";
import type { SocketIdentity } from "./auth.ts";
import { type ClientFrameType, CLOSE, type CloseCause, type NotificationType } from "./protocol.ts";
import { type HubConnection, notificationFrame } from "./hub.ts";
import type { Stream } from "./keys.ts";
import { isKvFailure } from "./kv.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { AckOutcome } from "./deliveries.ts";
import type { Positions, StoredNotification } from "./notifications.ts";
import { NotificationTooLargeError } from "./notification_size.ts";
import { createOutbound, type Outbound } from "./outbound.ts";
import { createFrameRateLimiter, type FrameRateLimiter } from "./rate_limit.ts";
import { takeFrame } from "./frame_intake.ts";
import { replayInto, type ReplayResult } from "./socket_replay.ts";
import { clientDataSchemas } from "./schemas.ts";
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
  /** Stored notifications of a stream after a seq, in order, read a page at a time as they are taken. */
  scan(stream: Stream, after: number): AsyncIterable<StoredNotification>;
  /** Records deliveries of the user's own notifications among `ids`; says what became of the others. */
  acknowledge(userId: string, streams: readonly Stream[], ids: string[]): Promise<AckOutcome>;
  /** Stores and delivers what a client frame publishes; returns the id of the (first) notification. */
  publishFrame(
    identity: SocketIdentity,
    type: "user_message" | "system_announcement" | "admin_alert" | "project_update" | "payment_update",
    data: unknown,
  ): Promise<string>;
}

/** What every socket of an isolate shares: made once per isolate, referenced (never copied) by each session. */
export interface SessionContext {
  limits: SessionLimits;
  services: SessionServices;
  metrics: Metrics;
  /** The service's logger; a session adds its connection id to what it logs. */
  log: Logger;
  now: () => number;
  /** Called once when the socket is gone, whatever closed it. */
  onClosed(session: SocketSession): void;
  /** Called first, before the welcome reads positions, so no live notification can slip between them. */
  onOpen(session: SocketSession): void;
  /** Called once the welcome has been sent, with the positions it carried. */
  onWelcomed(session: SocketSession, positions: Positions): void;
}

/** What is particular to one socket. */
export interface SessionInit {
  connectionId: string;
  identity: SocketIdentity;
  streams: Stream[];
  clientIp: string;
  userAgent: string;
}

const ADMIN_FRAMES = new Set(["system_announcement", "admin_alert", "project_update", "payment_update"]);

export interface SocketSession extends HubConnection {
  readonly identity: SocketIdentity;
  readonly clientIp: string;
  readonly userAgent: string;
  readonly connectedAt: number;
  readonly lastActivity: number;
  readonly messageCount: number;
  closeWith(cause: CloseCause): void;
}

/** Runs the protocol on an upgraded socket whose identity and limits were checked before the upgrade. */
export function startSession(ws: WebSocket, context: SessionContext, init: SessionInit): SocketSession {
  const session = new Session(ws, context, init);
  session.start();
  return session;
}

/**
 * One socket's session. A class, not a closure over local state: an idle socket holds one object of plain
 * fields, with the methods shared on the prototype, rather than ~20 closures and their context each (the
 * session is the main part of what each of 10,000 idle sockets costs).
 */
class Session implements SocketSession {
  readonly id: string;
  identity: SocketIdentity;
  readonly userId: string;
  readonly role: SocketIdentity["role"];
  readonly clientIp: string;
  readonly userAgent: string;
  readonly connectedAt: number;
  lastActivity: number;
  messageCount = 0;
  wantsMetrics = false;

  // Read and moved on by a replay (`ReplayTarget`); not part of `SocketSession`.
  readonly streams: Stream[];
  /** Per stream (index in `streams`), the highest seq this socket was sent (or its welcome said was past). */
  readonly sent: number[];
  /** Per stream, the head at the welcome: what lies at or below it was never sent on this socket. */
  readonly welcomedAt: number[];
  types: Set<NotificationType> | null = null;
  closed = false;
  readonly outbound: Outbound;
  /** Live notifications held back while the welcome or a resume reads from the store. */
  private held: StoredNotification[] | null = [];
  /** The welcome or a resume is reading the store: one at a time, so a replay's memory is one page. */
  private replaying = true;
  /** This minute's `ack` budget, made on the first `ack`. */
  private ackBudget: AckBudget | null = null;
  private finished = false;
  private readonly rate: FrameRateLimiter;
  /** Made on first use: most sockets never log, and a child logger per socket is memory held for nothing. */
  private connLog: Logger | undefined = undefined;

  constructor(private readonly ws: WebSocket, private readonly ctx: SessionContext, init: SessionInit) {
    this.id = init.connectionId;
    this.identity = init.identity;
    this.userId = init.identity.userId;
    this.role = init.identity.role;
    this.clientIp = init.clientIp;
    this.userAgent = init.userAgent;
    this.connectedAt = ctx.now();
    this.lastActivity = ctx.now();
    this.streams = init.streams;
    // Sized once (holes read as "not yet"): an array grown from empty reserves room for 17 numbers.
    this.sent = new Array(init.streams.length);
    this.welcomedAt = new Array(init.streams.length);
    this.outbound = createOutbound(ws, ctx.limits.bufferSize);
    this.rate = createFrameRateLimiter(ctx.limits.messageRatePerMinute, ctx.now);
  }

  /** Takes over the socket's events (the session itself is the listener) and sends the welcome. */
  start() {
    const ws = this.ws;
    // The upgrade route's close handler gives back an admission that never opened; from now on, `finish`.
    ws.onclose = null;
    // No `error` listener: an error is always followed by `close`, and an unheard error event is not reported;
    // each event type listened to costs a few hundred bytes per socket.
    ws.addEventListener("message", this);
    ws.addEventListener("close", this);
    this.ctx.onOpen(this);
    this.welcome().catch((e) => {
      // The store failing is the store's fault, logged as the API logs its 503s; anything else is a bug here.
      if (isKvFailure(e)) this.log().warn("Welcome failed: store unavailable", { error: e });
      else this.log().error("Welcome failed", { error: e });
      this.close(1011, "Internal error");
    });
  }

  handleEvent(event: Event) {
    if (event.type === "message") this.receive((event as MessageEvent).data);
    else if (event.type === "close") this.finish();
  }

  deliver(n: StoredNotification, frame: string): boolean {
    if (this.closed) return false;
    if (!this.held) return this.pass(n, frame, true);
    // Held frames are outbound frames too: past BUFFER_SIZE the socket is as slow a consumer as any.
    if (this.held.length + this.outbound.queued() >= this.ctx.limits.bufferSize) {
      this.closeWith("slowConsumer");
    } else this.held.push(n); // counted when released
    return false;
  }

  sendControl(frame: string): boolean {
    return !this.closed && this.send(frame, "metrics", true);
  }

  close(code: number, reason: string) {
    if (this.closed) return;
    this.closed = true;
    this.outbound.clear();
    try {
      this.ws.close(code, reason);
    } catch {
      // Already closing.
    }
    this.finish();
  }

  closeWith(cause: CloseCause) {
    const { code, reason } = CLOSE[cause];
    if (cause === "slowConsumer") this.ctx.metrics.inc("realtime_slow_consumers_total");
    this.log().info("Closing socket", { code, reason });
    this.close(code, reason);
  }

  private log(): Logger {
    return this.connLog ??= this.ctx.log.with({ connectionId: this.id });
  }

  private finish() {
    if (this.finished) return;
    this.finished = true;
    this.closed = true;
    this.held = null;
    this.outbound.clear();
    this.ctx.onClosed(this);
  }

  /** Queues a frame, counted as out by `type` unless the hub counts it in bulk; false if closed 4008 for it. */
  send(frame: string, type: string, counted = false): boolean {
    const queued = this.outbound.push(frame);
    if (!queued) this.closeWith("slowConsumer");
    else if (!counted) this.ctx.metrics.inc("realtime_frames_total", { direction: "out", type });
    return queued;
  }

  private control(type: string, data: unknown) {
    this.send(JSON.stringify({ type, data, timestamp: new Date(this.ctx.now()).toISOString() }), type);
  }

  private error(code: string, message: string, replyTo?: unknown) {
    this.control("error", replying({ code, message }, replyTo));
  }

  /** Sends a live notification unless this socket was already sent it (or filtered its type out). */
  private pass(n: StoredNotification, frame?: string, counted = false): boolean {
    // The hub hands a socket only notifications of streams it reads.
    const i = this.streams.indexOf(n.stream);
    if (i < 0 || n.seq <= (this.sent[i] ?? 0)) return false;
    this.sent[i] = n.seq;
    if (this.types && !this.types.has(n.type)) return false;
    return this.send(frame ?? notificationFrame(n), n.type, counted);
  }

  /** Releases the notifications held meanwhile, in order. */
  private release() {
    const pending = this.held ?? [];
    this.held = null;
    for (const n of pending.sort((a, b) => a.seq - b.seq)) this.pass(n);
  }

  private async welcome() {
    const { limits } = this.ctx;
    const heads = await this.ctx.services.positions(this.streams);
    this.streams.forEach((stream, i) => {
      if (stream in heads) this.sent[i] = this.welcomedAt[i] = heads[stream];
    });
    this.control("welcome", {
      connectionId: this.id,
      userId: this.userId,
      role: this.role,
      expiresAt: new Date(this.identity.expiresAt).toISOString(),
      positions: heads,
      limits: {
        messageSizeLimit: limits.messageSizeLimit,
        messageRatePerMinute: limits.messageRatePerMinute,
        heartbeatInterval: limits.heartbeatInterval,
        connectionTimeout: limits.connectionTimeout,
      },
    });
    this.control("system_announcement", {
      title: "Connected",
      message: "Real-time updates are now active",
      priority: "low",
    });
    this.ctx.onWelcomed(this, heads);
    this.replaying = false;
    this.release();
  }

  /** The positions a `resumed` frame reports: per stream read, the highest seq this socket was sent. */
  private positions(): Positions {
    const out: Positions = {};
    this.streams.forEach((stream, i) => {
      if (this.sent[i] !== undefined) out[stream] = this.sent[i];
    });
    return out;
  }

  private receive(payload: unknown) {
    if (this.closed) return;
    this.lastActivity = this.ctx.now();
    this.messageCount++;
    const frame = takeFrame(payload, this.ctx.limits, this.rate, this.ctx.metrics);
    if (frame.kind === "close") return this.closeWith(frame.cause);
    if (frame.kind === "error") return this.error(frame.code, frame.message, frame.replyTo);
    const { type: frameType, replyTo } = frame;
    this.handle(frameType, frame.data, replyTo).catch((e) => {
      if (e instanceof NotificationTooLargeError) return this.error("payload_too_large", e.message, replyTo);
      // The store failing is logged (as the API's 503 is) but is no fault in this code; anything else is.
      const storeFailed = isKvFailure(e);
      if (storeFailed) this.log().warn("Store unavailable", { type: frameType, error: e });
      else this.log().error("Frame handling failed", { type: frameType, error: e });
      if (this.closed) return;
      if (storeFailed) this.error("unavailable", "Storage is unavailable; try again", replyTo);
      else this.error("internal_error", "The frame could not be handled; try again", replyTo);
    });
  }

  private async handle(type: ClientFrameType, data: unknown, replyTo: unknown) {
    const { services } = this.ctx;
    switch (type) {
      case "ping":
        this.control("pong", {
          replyTo: replyTo ?? null,
          serverTime: new Date(this.ctx.now()).toISOString(),
        });
        return;
      case "subscribe":
      case "unsubscribe": {
        const { types: requested } = data as z.infer<typeof clientDataSchemas.subscribe>;
        if (requested.includes("metrics") && this.role !== "admin") {
          return this.error("forbidden", 'Only admins may subscribe to "metrics"', replyTo);
        }
        const add = type === "subscribe";
        for (const t of requested) {
          if (t === "metrics") this.wantsMetrics = add;
          else if (add) (this.types ??= new Set()).add(t);
          else this.types?.delete(t);
        }
        if (this.types?.size === 0) this.types = null;
        return;
      }
      case "resume": {
        // One replay per socket at a time: a replay's memory is one page, and so is a socket's.
        if (this.replaying) {
          return this.error("busy", "A resume is already running; wait for resumed", replyTo);
        }
        this.replaying = true;
        this.held ??= [];
        const { positions } = data as z.infer<typeof clientDataSchemas.resume>;
        let result: ReplayResult;
        try {
          result = await replayInto(this, services, positions, this.ctx.limits.bufferSize);
        } finally {
          this.replaying = false;
          if (!this.closed) this.release();
        }
        if ("refused" in result) return this.error("invalid_payload", result.refused, replyTo);
        if (this.closed) return;
        return this.control(
          "resumed",
          replying({ replayed: result.replayed, positions: this.positions() }, replyTo),
        );
      }
      case "ack": {
        const budget = this.ackBudget ??= createAckBudget(ACK_IDS_PER_MINUTE, this.ctx.now);
        const record = (ids: string[]) => services.acknowledge(this.userId, this.streams, ids);
        const acks = acknowledgeWithin(budget, (data as { ids: string[] }).ids, record, this.ctx.metrics);
        if (acks.overBudget) {
          this.error("rate_limited", `Ack budget used up; ${acks.overBudget} ids dropped`, replyTo);
        }
        return await acks.done;
      }
      case "auth": {
        const { token } = data as { token: string };
        try {
          const fresh = await services.verifyToken(token);
          if (fresh.userId !== this.userId || fresh.role !== this.role) throw new Error("Other user");
          this.identity = fresh;
          const reply = { expiresAt: new Date(fresh.expiresAt).toISOString() };
          this.control("auth_ok", replying(reply, replyTo));
        } catch {
          this.ctx.metrics.inc("realtime_auth_failures_total", { reason: "refresh" });
          this.closeWith("invalidAuth");
        }
        return;
      }
      default: {
        if (ADMIN_FRAMES.has(type) && this.role !== "admin") {
          return this.error("forbidden", `Unauthorized for message type: ${type}`, replyTo);
        }
        if (
          type === "user_message" && this.role !== "admin" &&
          (data as { toUserId: string }).toUserId !== "admins"
        ) {
          return this.error("forbidden", 'Clients may only write to "admins"', replyTo);
        }
        const id = await services.publishFrame(this.identity, type, data);
        this.control("sent", { replyTo: replyTo ?? null, id });
      }
    }
  }
}

/** Adds `replyTo` to an answer's data when the client's frame carried an `id`. */
function replying<T extends object>(data: T, replyTo: unknown) {
  return replyTo === undefined ? data : { ...data, replyTo };
}
