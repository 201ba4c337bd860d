/**
 * The notification store: the truth. Each notification sits at a gap-free `seq` in its stream; a write that
 * adds several notifications (and a webhook id) is one atomic commit, so an acknowledged write is durable
 * and a replayed webhook finds its id in the same commit.
 */
import type { NotificationType } from "./schemas.ts";
import type { Stream } from "./keys.ts";
import {
  notificationByIdKey,
  notificationKey,
  notificationsPrefix,
  readMarkKey,
  readStateKey,
  readStatesPrefix,
  streamHeadKey,
  webhookIdKey,
} from "./keys.ts";
import { commitWithRetry, withKvRetry } from "./kv.ts";
import { scanStream } from "./stream_scan.ts";

export interface NotificationDraft {
  stream: Stream;
  type: NotificationType;
  title: string;
  message: string;
  data: Record<string, unknown>;
}

export interface StoredNotification extends NotificationDraft {
  id: string;
  seq: number;
  /** ISO 8601. */
  createdAt: string;
}

export interface NotificationView extends StoredNotification {
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

  /** Stores drafts at the next positions of their streams, atomically with the webhook id if given. */
  async function append(drafts: NotificationDraft[], webhookId?: string): Promise<AppendResult> {
    const streams = [...new Set(drafts.map((d) => d.stream))];
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

  async function readMark(userId: string, stream: Stream): Promise<{ seq: number; readAt: string | null }> {
    const entry = await kv.get<{ seq: number; readAt: string }>(readMarkKey(userId, stream));
    return entry.value ?? { seq: 0, readAt: null };
  }

  /** Read marks above the read-all mark: seq → readAt. */
  async function readStates(userId: string, stream: Stream, mark: number): Promise<Map<number, string>> {
    const states = new Map<number, string>();
    const iter = kv.list<string>({
      start: readStateKey(userId, stream, mark + 1),
      end: [...readStatesPrefix(userId, stream), Number.MAX_SAFE_INTEGER],
    });
    for await (const entry of iter) states.set(entry.key[3] as number, entry.value);
    return states;
  }

  async function oldestLiveSeq(stream: Stream): Promise<number | null> {
    for await (const entry of kv.list<StoredNotification>({ prefix: notificationsPrefix(stream) })) {
      if (alive(entry.value)) return entry.value.seq;
    }
    return null;
  }

  async function unreadIn(userId: string, stream: Stream, headSeq: number): Promise<number> {
    const mark = (await readMark(userId, stream)).seq;
    if (headSeq <= mark) return 0;
    const oldest = await oldestLiveSeq(stream);
    if (oldest === null) return 0;
    const from = Math.max(mark, oldest - 1);
    const reads = await readStates(userId, stream, from);
    return Math.max(0, headSeq - from - reads.size);
  }

  /** One page of a user's notifications, newest first, merged across their streams. */
  async function list(
    userId: string,
    role: "admin" | "client",
    opts: ListOptions = {},
  ): Promise<NotificationPage> {
    const streams = streamsOf(userId, role);
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), MAX_PAGE);
    const headPositions = await heads(streams);
    const start = opts.cursor ? decodeCursor(opts.cursor, streams, headPositions) : headPositions;
    const below: Positions = { ...start };
    const marks = Object.fromEntries(
      await Promise.all(streams.map(async (s) => [s, await readMark(userId, s)])),
    );
    const reads = Object.fromEntries(
      await Promise.all(streams.map(async (s) => [s, await readStates(userId, s, marks[s].seq)])),
    ) as Record<string, Map<number, string>>;
    const readAtOf = (n: StoredNotification) =>
      reads[n.stream].get(n.seq) ?? (n.seq <= marks[n.stream].seq ? marks[n.stream].readAt : null);

    const items: NotificationView[] = [];
    const buffers = new Map<Stream, StoredNotification[]>();
    const exhausted = new Set<Stream>();
    const refill = async (stream: Stream) => {
      const batch: StoredNotification[] = [];
      const iter = kv.list<StoredNotification>({
        start: notificationKey(stream, 1),
        end: notificationKey(stream, below[stream] + 1),
      }, { reverse: true, limit: limit + 1 });
      for await (const entry of iter) batch.push(entry.value);
      if (batch.length <= limit) exhausted.add(stream);
      buffers.set(stream, batch);
    };
    await Promise.all(streams.map(refill));
    while (items.length < limit) {
      let pick: Stream | undefined;
      for (const stream of streams) {
        const top = buffers.get(stream)?.[0];
        if (!top) continue;
        const best = pick && buffers.get(pick)![0];
        if (!best || top.createdAt > best.createdAt) pick = stream;
      }
      if (!pick) break;
      const n = buffers.get(pick)!.shift()!;
      below[pick] = n.seq - 1;
      if (!buffers.get(pick)!.length && !exhausted.has(pick)) await refill(pick);
      if (!alive(n)) continue;
      const readAt = readAtOf(n);
      if (opts.unread && readAt) continue;
      items.push({ ...n, readAt });
    }
    const more = streams.some((s) => (buffers.get(s)?.length ?? 0) > 0);
    const counts = await Promise.all(streams.map((s) => unreadIn(userId, s, headPositions[s])));
    return {
      items,
      nextCursor: more ? encodeCursor(below) : null,
      unreadCount: counts.reduce((a, b) => a + b, 0),
    };
  }

  /** Marks one notification read for this user; false when it is not theirs to read. */
  async function markRead(userId: string, role: "admin" | "client", id: string): Promise<boolean> {
    const n = await byId(id);
    if (!n || !streamsOf(userId, role).includes(n.stream)) return false;
    const key = readStateKey(userId, n.stream, n.seq);
    const existing = await kv.get(key);
    if (!existing.value && n.seq > (await readMark(userId, n.stream)).seq) {
      await withKvRetry(() => kv.set(key, new Date(now()).toISOString(), { expireIn: ttl }));
    }
    return true;
  }

  /** Marks everything currently in the user's streams read; returns how many were unread. */
  async function markAllRead(userId: string, role: "admin" | "client"): Promise<number> {
    const streams = streamsOf(userId, role);
    const headPositions = await heads(streams);
    let updated = 0;
    for (const stream of streams) {
      updated += await unreadIn(userId, stream, headPositions[stream]);
      if (headPositions[stream] <= (await readMark(userId, stream)).seq) continue;
      await withKvRetry(() =>
        kv.set(readMarkKey(userId, stream), {
          seq: headPositions[stream],
          readAt: new Date(now()).toISOString(),
        })
      );
    }
    return updated;
  }

  return { append, noteHead, head, heads, range, scan, byId, list, markRead, markAllRead };
}

export type NotificationStore = ReturnType<typeof createNotificationStore>;
