/**
 * The hub: this isolate's sockets, indexed by user and role, and the ordered fan-out of notifications to
 * them. Each notification is serialised once whatever the audience, handed to sockets in slices that let the
 * event loop flush between them, and delivered in `seq` order per stream: a duplicate from a relay is dropped
 * and a gap is filled from the store before the newer notification goes out.
 */
import { setImmediate } from "node:timers";
import type { Role } from "./auth.ts";
import type { Stream } from "./keys.ts";
import { isKvFailure } from "./kv.ts";
import type { Logger } from "./log.ts";
import type { StoredNotification } from "./notifications.ts";
import type { Metrics } from "./metrics.ts";
import { notificationData } from "./notification_view.ts";
import type { NotificationFrame } from "./protocol.ts";

export interface HubConnection {
  readonly id: string;
  readonly userId: string;
  readonly role: Role;
  /**
   * Hands over a notification with its frame already serialised; the connection filters and queues it.
   * True when the frame was queued for the socket now: the hub counts those in `realtime_frames_total`, in
   * bulk; a connection counts itself what it sends later (a notification held during its welcome).
   */
  deliver(notification: StoredNotification, frame: string): boolean;
  /** Whether the connection subscribed to the metrics frames. */
  readonly wantsMetrics: boolean;
  /** Sends a control frame (metrics) to a connection that subscribed to it; true when it was queued. */
  sendControl(frame: string): boolean;
  close(code: number, reason: string): void;
}

export type RangeReader = (stream: Stream, after: number, upTo: number) => Promise<StoredNotification[]>;

/** Sockets handed a frame before the fan-out yields so that their writes can leave. */
const SLICE = 256;

/**
 * Yields to the event loop, so that the slice's writes go out. `setImmediate` runs once pending I/O has been
 * polled, and costs little: `setTimeout(0)` is clamped to milliseconds a call, so a large fan-out would sit
 * idle between its slices, and a `MessageChannel` costs ports and an event a yield (bench/RESULTS.md, tuning
 * log, changes 4 and 15).
 */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The protocol's `NotificationFrame` of a stored notification, as the JSON text every reader is sent. */
export function notificationFrame(n: StoredNotification): string {
  const frame: NotificationFrame = {
    type: n.type,
    data: notificationData(n),
    timestamp: n.createdAt,
    id: n.id,
    stream: n.stream,
    seq: n.seq,
    title: n.title,
    message: n.message,
  };
  return JSON.stringify(frame);
}

export interface HubOptions {
  readRange: RangeReader;
  metrics: Metrics;
  /** Where a failed delivery is reported. */
  log: Logger;
  now?: () => number;
}

/** Creates the hub for this isolate, holding connections of type `C` (the service's: its sockets' sessions). */
export function createHub<C extends HubConnection>(options: HubOptions) {
  const { readRange, metrics, log } = options;
  const now = options.now ?? Date.now;
  const byId = new Map<string, C>();
  const byUser = new Map<string, Set<C>>();
  const admins = new Set<C>();
  /** Per stream with local readers: the highest seq handed to them, in order. */
  const cursors = new Map<Stream, number>();
  let queue: Promise<void> = Promise.resolve();

  function recipients(stream: Stream): Iterable<C> {
    if (stream === "all") return byId.values();
    if (stream === "role:admin") return admins;
    return byUser.get(stream.slice("user:".length)) ?? [];
  }

  const hasReaders = (stream: Stream) => readerCount(stream) > 0;
  function readerCount(stream: Stream): number {
    if (stream === "all") return byId.size;
    if (stream === "role:admin") return admins.size;
    return byUser.get(stream.slice("user:".length))?.size ?? 0;
  }

  async function fanOut(n: StoredNotification) {
    const frame = notificationFrame(n);
    const targets = [...recipients(n.stream)];
    let sent = 0;
    for (let i = 0; i < targets.length; i++) {
      if (i > 0 && i % SLICE === 0) await yieldToEventLoop();
      if (targets[i].deliver(n, frame)) sent++;
    }
    // One count per fan-out, not per socket: this loop is the hot path.
    metrics.inc("realtime_frames_total", { direction: "out", type: n.type }, sent);
  }

  async function deliverInOrder(n: StoredNotification, acceptedAt?: number) {
    if (!hasReaders(n.stream)) return;
    // A stream whose first reader is still being welcomed starts here; that reader's hold covers the rest.
    const cursor = cursors.get(n.stream) ?? n.seq - 1;
    if (n.seq <= cursor) return;
    const missed = n.seq > cursor + 1 ? await readRange(n.stream, cursor, n.seq - 1) : [];
    for (const m of [...missed, n]) {
      // Another delivery may have moved the cursor while the store was read.
      if (m.seq <= (cursors.get(n.stream) ?? cursor)) continue;
      cursors.set(n.stream, m.seq);
      await fanOut(m);
    }
    if (acceptedAt !== undefined) {
      metrics.observe("realtime_delivery_latency_seconds", Math.max(0, now() - acceptedAt) / 1000);
    }
  }

  return {
    /** Registers a socket, before its welcome reads the stream heads (lib/socket_lifecycle.ts, step 2). */
    add(conn: C) {
      byId.set(conn.id, conn);
      const conns = byUser.get(conn.userId);
      if (conns) conns.add(conn);
      else byUser.set(conn.userId, new Set([conn]));
      if (conn.role === "admin") admins.add(conn);
    },

    /** Starts the cursors of streams new to this isolate at the heads a welcome just read (step 4). */
    notePositions(positions: Record<string, number>) {
      for (const [stream, seq] of Object.entries(positions) as [Stream, number][]) {
        if (!cursors.has(stream) && hasReaders(stream)) cursors.set(stream, seq);
      }
    },

    remove(conn: C) {
      if (!byId.delete(conn.id)) return;
      const conns = byUser.get(conn.userId);
      conns?.delete(conn);
      if (conns?.size === 0) {
        byUser.delete(conn.userId);
        cursors.delete(`user:${conn.userId}`);
      }
      admins.delete(conn);
      if (admins.size === 0) cursors.delete("role:admin");
      if (byId.size === 0) cursors.delete("all");
    },

    get: (id: string) => byId.get(id),
    get size() {
      return byId.size;
    },
    connections: () => byId.values(),
    /** How many of this isolate's sockets read a stream. */
    readerCount,
    countsByRole(): Record<Role, number> {
      return { admin: admins.size, client: byId.size - admins.size };
    },

    /**
     * Delivers a stored notification to this isolate's readers of its stream, once and in order. Calls are
     * queued, so a notification is fully handed out before the next one starts.
     */
    deliver(n: StoredNotification, acceptedAt?: number): Promise<void> {
      queue = queue.then(() => deliverInOrder(n, acceptedAt)).catch((error) => {
        // Filling a gap reads the store: its failing is the store's fault, anything else one here.
        const fields = { stream: n.stream, seq: n.seq, error };
        if (isKvFailure(error)) log.warn("Delivery failed: store unavailable", fields);
        else log.error("Delivery failed", fields);
      });
      return queue;
    },

    /** Whether any socket subscribed to metrics (only admins may, so only admins are looked at). */
    hasMetricsSubscribers(): boolean {
      for (const conn of admins) if (conn.wantsMetrics) return true;
      return false;
    },

    /** Sends a `metrics` frame to every socket that subscribed to it, counted as frames out. */
    sendMetrics(frame: string) {
      let sent = 0;
      for (const conn of admins) if (conn.wantsMetrics && conn.sendControl(frame)) sent++;
      metrics.inc("realtime_frames_total", { direction: "out", type: "metrics" }, sent);
    },

    /** Closes every socket with this code (shutdown). */
    closeAll(code: number, reason: string) {
      for (const conn of [...byId.values()]) conn.close(code, reason);
    },
  };
}

export type Hub<C extends HubConnection = HubConnection> = ReturnType<typeof createHub<C>>;
