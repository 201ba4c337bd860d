/**
 * The notification store: the truth. Each notification sits at a gap-free `seq` in its stream; a write that
 * adds several notifications (and a webhook id) is one atomic commit, so an acknowledged write is durable
 * and a replayed webhook finds its id in the same commit.
 */
import type { NotificationType } from "./protocol.ts";
import type { Stream } from "./keys.ts";
import { notificationByIdKey, notificationKey, streamHeadKey, webhookIdKey } from "./keys.ts";
import { commitWithRetry, withKvRetry } from "./kv.ts";
import { createNotificationLister } from "./notification_list.ts";
import { createReadMarks } from "./read_marks.ts";
import { assertNotificationsFit } from "./notification_size.ts";
import { scanStream } from "./stream_scan.ts";

export interface NotificationDraft {
  stream: Stream;
  type: NotificationType;
  title: string;
  message: string;
  data: Record<string, unknown>;
  /**
   * The field of `data` that carries `message` in frames and API answers. That text is stored once, as
   * `message`, and put back into `data` when shown (notificationData): stored twice, it took twice the room of
   * a KV value. Absent when `data` holds no copy (and in notifications stored before this field existed).
   */
  messageField?: "message" | "content";
}

export interface StoredNotification extends NotificationDraft {
  id: string;
  seq: number;
  /** ISO 8601. */
  createdAt: string;
}

/** A notification as the API lists it (notificationView): `data` whole, with the user's read state. */
export interface NotificationView extends Omit<StoredNotification, "messageField"> {
  readAt: string | null;
}

export type Positions = Record<string, number>;

export const WEBHOOK_ID_TTL_MS = 24 * 3600_000;
const MAX_PAGE = 100;
/** Ids are UUIDs; anything longer than this (a KV key holds at most 2 KiB) is no notification's. */
const MAX_ID_LENGTH = 200;

/** The streams a user reads: their own, `all`, and `role:admin` for admins. */
export function streamsOf(userId: string, role: "admin" | "client"): Stream[] {
  return role === "admin" ? [`user:${userId}`, "all", "role:admin"] : [`user:${userId}`, "all"];
}

export interface AppendResult {
  duplicate: boolean;
  notifications: StoredNotification[];
  /** Each written stream's head after the commit, with the commit's versionstamp (none for a duplicate). */
  heads?: Map<Stream, StreamHead>;
}

/** A stream's last seq and the versionstamp of the commit that wrote it: exactly the head key's entry. */
export interface StreamHead {
  seq: number;
  versionstamp: string | null;
}

export interface ListOptions {
  unread?: boolean;
  limit?: number;
  cursor?: string;
}

export interface NotificationPage {
  items: NotificationView[];
  nextCursor: string | null;
  unreadCount: number;
}

export class CursorError extends Error {}

function encodeCursor(positions: Positions): string {
  return btoa(JSON.stringify(positions)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A cursor's positions; a position that does not parse, or lies beyond its stream's head, is a CursorError. */
function decodeCursor(cursor: string, streams: Stream[], heads: Positions): Positions {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    throw new CursorError("Cursor is not valid");
  }
  const positions: Positions = {};
  for (const stream of streams) {
    const value = parsed?.[stream];
    if (!Number.isSafeInteger(value) || (value as number) < 0) throw new CursorError("Cursor is not valid");
    // A cursor is made below a head that only grows: one beyond it was not made by this service.
    if ((value as number) > heads[stream]) {
      throw new CursorError(`Cursor position of stream "${stream}" is beyond its head`);
    }
    positions[stream] = value as number;
  }
  return positions;
}

/** Notification storage in Deno KV with expiry after `ttlMs`. */
export function createNotificationStore(kv: Deno.Kv, options: { ttlMs: number; now?: () => number }) {
  const now = options.now ?? Date.now;
  const ttl = options.ttlMs;
  const alive = (n: StoredNotification) => Date.parse(n.createdAt) + ttl > now();

  async function head(stream: Stream): Promise<number> {
    const entry = await withKvRetry(() => kv.get<number>(streamHeadKey(stream)));
    return entry.value ?? 0;
  }

  /**
   * Each stream's head as this isolate last committed or read it, with the versionstamp that proves it. An
   * append first trusts it, with that versionstamp as its check, and reads only when the check fails (another
   * isolate wrote the stream, or the webhook id is taken): one KV commit per webhook instead of a read and a
   * commit, while the checks keep `seq` gap-free whoever wrote last. Other isolates' commits arrive over the
   * relay (`noteHead`), so isolates that take turns with a stream still commit without a read.
   */
  const knownHeads = new Map<Stream, StreamHead>();

  /**
   * Learns a stream's head from a commit made elsewhere. The pair must be exact (the seq the head key was set
   * to, with that commit's versionstamp): a newer seq replaces an older one, never the other way round.
   */
  function noteHead(stream: Stream, head: StreamHead) {
    if (!Number.isSafeInteger(head.seq) || head.seq < 1 || !/^[0-9a-f]{20}$/.test(head.versionstamp ?? "")) {
      return;
    }
    const known = knownHeads.get(stream);
    if (!known || head.seq > known.seq) knownHeads.set(stream, head);
  }

  /**
   * Stores drafts at the next positions of their streams, atomically with the webhook id if given. Throws
   * NotificationTooLargeError, having stored nothing, when a draft would not fit in one KV value.
   */
  async function append(drafts: NotificationDraft[], webhookId?: string): Promise<AppendResult> {
    assertNotificationsFit(drafts);
    const streams = [...new Set(drafts.map((d) => d.stream))];
    const earlier = streams.flatMap((stream) => streamTails.get(stream) ?? []);
    const result = earlier.length
      ? Promise.all(earlier).then(() => commitAppend(drafts, streams, webhookId))
      : commitAppend(drafts, streams, webhookId);
    const tail = result.then(() => {}, () => {});
    for (const stream of streams) streamTails.set(stream, tail);
    tail.then(() => {
      for (const stream of streams) if (streamTails.get(stream) === tail) streamTails.delete(stream);
    });
    return await result;
  }

  /**
   * This isolate's appends in flight, per stream: an append waits for the earlier ones to its streams. Appends
   * racing for one head conflict and retry, so a burst of n (one user's minute of messages to the support
   * inbox) cost about n²/2 commits and kept delivery seconds late; one after another, each commits at its
   * first try from the head the previous one left. Appends to other streams do not wait.
   */
  const streamTails = new Map<Stream, Promise<void>>();

  async function commitAppend(
    drafts: NotificationDraft[],
    streams: Stream[],
    webhookId?: string,
  ): Promise<AppendResult> {
    let trustKnown = streams.every((stream) => knownHeads.has(stream));
    return await commitWithRetry<AppendResult>(async () => {
      let heads = trustKnown ? streams.map((stream) => knownHeads.get(stream)!) : null;
      trustKnown = false;
      if (!heads) {
        // The heads and the webhook id in one read (an event has at most a few streams; getMany takes 10).
        const keys = [...streams.map(streamHeadKey), ...(webhookId ? [webhookIdKey(webhookId)] : [])];
        const entries = await kv.getMany<unknown[]>(keys);
        if (webhookId && entries[streams.length].value) {
          return { done: { duplicate: true, notifications: [] } };
        }
        heads = streams.map((stream, i) => {
          const head = {
            seq: (entries[i].value as number | null) ?? 0,
            versionstamp: entries[i].versionstamp,
          };
          knownHeads.set(stream, head);
          return head;
        });
      }
      const op = kv.atomic();
      const next = new Map<Stream, number>();
      streams.forEach((stream, i) => {
        op.check({ key: streamHeadKey(stream), versionstamp: heads[i].versionstamp });
        next.set(stream, heads[i].seq);
      });
      const createdAt = new Date(now()).toISOString();
      const notifications = drafts.map((draft) => {
        const seq = next.get(draft.stream)! + 1;
        next.set(draft.stream, seq);
        const stored: StoredNotification = { id: crypto.randomUUID(), seq, createdAt, ...draft };
        op.set(notificationKey(draft.stream, seq), stored, { expireIn: ttl });
        op.set(notificationByIdKey(stored.id), { stream: draft.stream, seq }, { expireIn: ttl });
        return stored;
      });
      for (const [stream, seq] of next) op.set(streamHeadKey(stream), seq);
      if (webhookId) {
        op.check({ key: webhookIdKey(webhookId), versionstamp: null });
        op.set(webhookIdKey(webhookId), {
          receivedAt: createdAt,
          notificationIds: notifications.map((n) => n.id),
        }, { expireIn: WEBHOOK_ID_TTL_MS });
      }
      const result: AppendResult = { duplicate: false, notifications, heads: new Map() };
      const committed = (versionstamp: string) => {
        for (const [stream, seq] of next) {
          knownHeads.set(stream, { seq, versionstamp });
          result.heads!.set(stream, { seq, versionstamp });
        }
      };
      return { op, result, committed };
    });
  }

  /**
   * Head reads wait while one is in flight and then go together, up to `getMany`'s 10 keys: under a burst
   * of handshakes (every welcome reads its streams' heads, "all" among them) a welcome costs a share of one
   * KV read rather than a read of its own. A read never starts before the calls it answers were made, so it
   * sees every commit that preceded them, as a read of their own would.
   */
  type HeadsRead = { heads: Map<Stream, number> } | { error: unknown };
  const headCalls: { streams: Stream[]; done: (read: HeadsRead) => void }[] = [];
  let readingHeads = false;

  async function readHeads() {
    readingHeads = true;
    while (headCalls.length) {
      const keys = new Set(headCalls[0].streams);
      let n = 1;
      while (n < headCalls.length && new Set([...keys, ...headCalls[n].streams]).size <= 10) {
        for (const stream of headCalls[n++].streams) keys.add(stream);
      }
      const batch = headCalls.splice(0, n);
      const streams = [...keys];
      let read: HeadsRead;
      try {
        const entries = await withKvRetry(() => kv.getMany<number[]>(streams.map(streamHeadKey)));
        read = { heads: new Map(streams.map((s, i) => [s, entries[i].value ?? 0])) };
      } catch (error) {
        read = { error };
      }
      for (const call of batch) call.done(read);
    }
    readingHeads = false;
  }

  /** The last seq of each stream (0 for an empty one). */
  function heads(streams: Stream[]): Promise<Positions> {
    return new Promise((resolve, reject) => {
      headCalls.push({
        streams,
        done: (read) =>
          "error" in read
            ? reject(read.error)
            : resolve(Object.fromEntries(streams.map((s) => [s, read.heads.get(s)!]))),
      });
      if (!readingHeads) readHeads();
    });
  }

  /** Every live notification of `stream` with `after < seq <= upTo`, in order (none for an empty range). */
  async function range(stream: Stream, after: number, upTo = Number.MAX_SAFE_INTEGER) {
    const out: StoredNotification[] = [];
    for await (const n of scan(stream, after, upTo)) out.push(n);
    return out;
  }

  /** The live notifications of `stream` after `after`, a page at a time (see `scanStream`). */
  const scan = (stream: Stream, after: number, upTo?: number, pageSize?: number) =>
    scanStream(kv, stream, after, { upTo, pageSize, alive });

  /** The live notification with this id; null for any other id (one longer than a KV key names nothing). */
  async function byId(id: string): Promise<StoredNotification | null> {
    if (id.length > MAX_ID_LENGTH) return null;
    const ref = await kv.get<{ stream: Stream; seq: number }>(notificationByIdKey(id));
    if (!ref.value) return null;
    const entry = await kv.get<StoredNotification>(notificationKey(ref.value.stream, ref.value.seq));
    return entry.value && alive(entry.value) ? entry.value : null;
  }

  const marks = createReadMarks(kv, { ttlMs: ttl, now, alive });
  const listPage = createNotificationLister(kv, marks, alive);

  /**
   * One page of a user's notifications, newest first, merged across their streams. It examines a bounded
   * number of stored notifications (`SCAN_BUDGET`): a page may hold fewer than `limit` items, even none, and
   * still carry a `nextCursor`; the listing ends when `nextCursor` is null.
   */
  async function list(
    userId: string,
    role: "admin" | "client",
    opts: ListOptions = {},
  ): Promise<NotificationPage & { examined: number }> {
    const streams = streamsOf(userId, role);
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), MAX_PAGE);
    const headPositions = await heads(streams);
    const start = opts.cursor ? decodeCursor(opts.cursor, streams, headPositions) : headPositions;
    const page = await listPage({
      userId,
      streams,
      heads: headPositions,
      below: start,
      unread: opts.unread ?? false,
      limit,
    });
    return {
      items: page.items,
      nextCursor: page.next ? encodeCursor(page.next) : null,
      unreadCount: page.unreadCount,
      examined: page.examined,
    };
  }

  /** Marks one notification read for this user; false when it is not theirs to read. */
  async function markRead(userId: string, role: "admin" | "client", id: string): Promise<boolean> {
    const n = await byId(id);
    if (!n || !streamsOf(userId, role).includes(n.stream)) return false;
    await marks.markRead(userId, n);
    return true;
  }

  /** Marks everything currently in the user's streams read; returns how many were unread. */
  async function markAllRead(userId: string, role: "admin" | "client"): Promise<number> {
    const streams = streamsOf(userId, role);
    return await marks.markAllRead(userId, streams, await heads(streams));
  }

  return { append, noteHead, head, heads, range, scan, byId, list, markRead, markAllRead };
}

export type NotificationStore = ReturnType<typeof createNotificationStore>;
