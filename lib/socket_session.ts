/**
 * One authenticated socket: the frame protocol of README "Socket protocol". Transport only: it reads and
 * writes frames, checks them against their schemas and the socket's limits, and calls the service for
 * everything else. It never parses a token itself; `auth` frames go to the injected verifier. Where it stands
 * in a socket's life (registered, welcomed, released, closed) is lib/socket_lifecycle.ts.
 */
import type { AdmittedSocket } from "./admission.ts";
import type { SocketIdentity } from "./auth.ts";
import type { RecordMark } from "./connections.ts";
import { clientDataSchemas } from "./client_frames.ts";
import { takeFrame } from "./frame_intake.ts";
import type { HubConnection } from "./hub.ts";
import type { Stream } from "./keys.ts";
import { isKvFailure } from "./kv.ts";
import type { Logger } from "./log.ts";
import { type Positions, type StoredNotification, streamsOf } from "./notifications.ts";
import { NotificationTooLargeError } from "./notification_size.ts";
import { createOutbound, type Outbound } from "./outbound.ts";
import { type ClientFrameType, CLOSE, type CloseCause, type NotificationType } from "./protocol.ts";
import { eventOf, publishRefusal } from "./publishable_frames.ts";
import { createFrameRateLimiter, type FrameRateLimiter } from "./rate_limit.ts";
import { ACK_IDS_PER_MINUTE, type AckBudget, acknowledgeWithin, createAckBudget } from "./socket_acks.ts";
import type { SocketDeps } from "./socket_lifecycle.ts";
import { replayInto, type ReplayResult } from "./socket_replay.ts";
import type { z } from "zod";

/** A socket's session as the rest of the service sees it: the hub, its record, its lifecycle. */
export interface SocketSession extends HubConnection, RecordMark {
  readonly identity: SocketIdentity;
  readonly clientIp: string;
  readonly userAgent: string;
  readonly connectedAt: number;
  readonly lastActivity: number;
  readonly messageCount: number;
  closeWith(cause: CloseCause): void;
  /** Reads the heads of its streams and sends the welcome; resolves with the heads it announced. */
  welcome(): Promise<Positions>;
  /** Sends what was held back since the session started, in order, and lets a `resume` run. */
  releaseHeld(): void;
  /** Closes 1011 after the welcome failed, logged as the store's fault or as one here. */
  welcomeFailed(error: unknown): void;
}

/**
 * Takes over an open socket's events and starts its session, holding live notifications back until
 * `releaseHeld()`; `end` is called once when the socket is gone, whatever closed it.
 */
export function startSession(
  ws: WebSocket,
  deps: SocketDeps,
  admitted: AdmittedSocket,
  end: (session: SocketSession) => void,
): SocketSession {
  const session = new Session(ws, deps, admitted, end);
  // No `error` listener: an error is always followed by `close`, and an unheard error event is not reported;
  // each event type listened to costs memory on every socket (bench/RESULTS.md, tuning log, change 7).
  ws.addEventListener("message", session);
  ws.addEventListener("close", session);
  return session;
}

/**
 * One socket's session. A class, not a closure over local state: an idle socket holds one object of plain
 * fields, with the methods shared on the prototype, rather than ~20 closures and their context each: the
 * session is most of what an idle socket costs.
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
  recordBuiltAt = 0;
  recordBuiltCount = -1;

  // Read and moved on by a replay (`ReplayTarget`); not part of `SocketSession`.
  readonly streams: Stream[];
  /** Per stream (index in `streams`), the highest seq this socket was sent (or its welcome said was past). */
  readonly sent: number[];
  /** Per stream, the head at the welcome: what lies at or below it was never sent on this socket. */
  readonly welcomedAt: number[];
  types: Set<NotificationType> | null = null;
  closed = false;
  readonly outbound: Outbound;
  /**
   * Live notifications (with the frame the hub made of each) held back while the welcome or a resume reads
   * from the store; null when none is reading, which is one at a time, so a replay's memory is one page.
   */
  private held: [StoredNotification, string][] | null = [];
  /** This minute's `ack` budget, made on the first `ack`. */
  private ackBudget: AckBudget | null = null;
  private finished = false;
  private readonly rate: FrameRateLimiter;
  /** Made on first use: most sockets never log, and a child logger per socket is memory held for nothing. */
  private connLog: Logger | undefined = undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: SocketDeps,
    admitted: AdmittedSocket,
    private readonly end: (session: SocketSession) => void,
  ) {
    const { identity } = admitted;
    this.id = admitted.connectionId;
    this.identity = identity;
    this.userId = identity.userId;
    this.role = identity.role;
    this.clientIp = admitted.clientIp;
    this.userAgent = admitted.userAgent;
    this.connectedAt = deps.now();
    this.lastActivity = deps.now();
    this.streams = streamsOf(identity.userId, identity.role);
    // Sized once (holes read as "not yet"): an array grown from empty reserves room for 17 numbers.
    this.sent = new Array(this.streams.length);
    this.welcomedAt = new Array(this.streams.length);
    this.outbound = createOutbound(ws, deps.config.bufferSize);
    this.rate = createFrameRateLimiter(deps.config.messageRatePerMinute, deps.now);
  }

  handleEvent(event: Event) {
    if (event.type === "message") this.receive((event as MessageEvent).data);
    else if (event.type === "close") this.finish();
  }

  deliver(n: StoredNotification, frame: string): boolean {
    if (this.closed) return false;
    if (!this.held) return this.pass(n, frame, true);
    // Held frames are outbound frames too: past BUFFER_SIZE the socket is as slow a consumer as any.
    if (this.held.length + this.outbound.queued() >= this.deps.config.bufferSize) {
      this.closeWith("slowConsumer");
    } else this.held.push([n, frame]); // counted when released
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
    if (cause === "slowConsumer") this.deps.metrics.inc("realtime_slow_consumers_total");
    this.log().info("Closing socket", { code, reason });
    this.close(code, reason);
  }

  private log(): Logger {
    return this.connLog ??= this.deps.log.with({ connectionId: this.id });
  }

  private finish() {
    if (this.finished) return;
    this.finished = true;
    this.closed = true;
    this.held = null;
    this.outbound.clear();
    this.end(this);
  }

  /** Queues a frame, counted as out by `type` unless the hub counts it in bulk; false if closed 4008 for it. */
  send(frame: string, type: string, counted = false): boolean {
    const queued = this.outbound.push(frame);
    if (!queued) this.closeWith("slowConsumer");
    else if (!counted) this.deps.metrics.inc("realtime_frames_total", { direction: "out", type });
    return queued;
  }

  private control(type: string, data: unknown) {
    this.send(JSON.stringify({ type, data, timestamp: new Date(this.deps.now()).toISOString() }), type);
  }

  private error(code: string, message: string, replyTo?: unknown) {
    this.control("error", replying({ code, message }, replyTo));
  }

  /** Sends a live notification unless this socket was already sent it (or filtered its type out). */
  private pass(n: StoredNotification, frame: string, counted = false): boolean {
    // The hub hands a socket only notifications of streams it reads.
    const i = this.streams.indexOf(n.stream);
    if (i < 0 || n.seq <= (this.sent[i] ?? 0)) return false;
    this.sent[i] = n.seq;
    if (this.types && !this.types.has(n.type)) return false;
    return this.send(frame, n.type, counted);
  }

  async welcome(): Promise<Positions> {
    const { config } = this.deps;
    const heads = await this.deps.store.positions(this.streams);
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
        messageSizeLimit: config.messageSizeLimit,
        messageRatePerMinute: config.messageRatePerMinute,
        heartbeatInterval: config.heartbeatIntervalMs,
        connectionTimeout: config.connectionTimeoutMs,
      },
    });
    this.control("system_announcement", {
      title: "Connected",
      message: "Real-time updates are now active",
      priority: "low",
    });
    return heads;
  }

  /** Releases the notifications held while the store was read, in order. */
  releaseHeld() {
    const pending = this.held ?? [];
    this.held = null;
    for (const [n, frame] of pending.sort(([a], [b]) => a.seq - b.seq)) this.pass(n, frame);
  }

  welcomeFailed(error: unknown) {
    // The store failing is the store's fault, logged as the API logs its 503s; anything else is a bug here.
    if (isKvFailure(error)) this.log().warn("Welcome failed: store unavailable", { error });
    else this.log().error("Welcome failed", { error });
    this.close(1011, "Internal error");
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
    this.lastActivity = this.deps.now();
    this.messageCount++;
    const frame = takeFrame(payload, this.deps.config, this.rate, this.deps.metrics);
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
    const { deps } = this;
    switch (type) {
      case "ping":
        this.control("pong", {
          replyTo: replyTo ?? null,
          serverTime: new Date(deps.now()).toISOString(),
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
        if (this.held) return this.error("busy", "A resume is already running; wait for resumed", replyTo);
        this.held = [];
        const { positions } = data as z.infer<typeof clientDataSchemas.resume>;
        let result: ReplayResult;
        try {
          result = await replayInto(this, deps.store, positions, deps.config.bufferSize);
        } finally {
          if (!this.closed) this.releaseHeld();
        }
        if ("refused" in result) return this.error("invalid_payload", result.refused, replyTo);
        if (this.closed) return;
        return this.control(
          "resumed",
          replying({ replayed: result.replayed, positions: this.positions() }, replyTo),
        );
      }
      case "ack": {
        const budget = this.ackBudget ??= createAckBudget(ACK_IDS_PER_MINUTE, deps.now);
        const record = (ids: string[]) => deps.acknowledge(this.userId, this.streams, ids);
        const acks = acknowledgeWithin(budget, (data as { ids: string[] }).ids, record, deps.metrics);
        if (acks.overBudget) {
          this.error("rate_limited", `Ack budget used up; ${acks.overBudget} ids dropped`, replyTo);
        }
        return await acks.done;
      }
      case "auth": {
        const { token } = data as { token: string };
        try {
          const fresh = await deps.verifyToken(token);
          if (fresh.userId !== this.userId || fresh.role !== this.role) throw new Error("Other user");
          this.identity = fresh;
          const reply = { expiresAt: new Date(fresh.expiresAt).toISOString() };
          this.control("auth_ok", replying(reply, replyTo));
        } catch {
          deps.metrics.inc("realtime_auth_failures_total", { reason: "refresh" });
          this.closeWith("invalidAuth");
        }
        return;
      }
      default: {
        // A frame that publishes a domain event (lib/publishable_frames.ts), if this sender may send it.
        const refused = publishRefusal(this.identity, type, data);
        if (refused) return this.error("forbidden", refused, replyTo);
        const { notifications } = await deps.publish(eventOf(this.identity, type, data));
        this.control("sent", { replyTo: replyTo ?? null, id: notifications[0].id });
      }
    }
  }
}

/** Adds `replyTo` to an answer's data when the client's frame carried an `id`. */
function replying<T extends object>(data: T, replyTo: unknown) {
  return replyTo === undefined ? data : { ...data, replyTo };
}
