/**
 * The notification store: the truth. Each notification sits at a gap-free `seq` in its stream; a write that
 * adds several notifications (and a webhook id) is one atomic commit, so an acknowledged write is durable
 * and a replayed webhook finds its id in the same commit. The store is three parts: stream heads
 * (lib/stream_heads.ts), the notifications themselves (here: append, range, by id), and users' read states
 * (lib/read_states.ts: list, mark read, mark all read).
 */
import type { NotificationType } from "./protocol.ts";
import type { Stream } from "./keys.ts";
import { MAX_ID_LENGTH, notificationByIdKey, notificationKey, streamHeadKey, webhookIdKey } from "./keys.ts";
import { commitWithRetry } from "./kv.ts";
import { assertNotificationsFit } from "./notification_size.ts";
import { createReadStates } from "./read_states.ts";
import { createStreamHeads, type StreamHead } from "./stream_heads.ts";
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

/** Notification storage in Deno KV with expiry after `ttlMs`. */
export function createNotificationStore(kv: Deno.Kv, options: { ttlMs: number; now?: () => number }) {
  const now = options.now ?? Date.now;
  const ttl = options.ttlMs;
  const alive = (n: StoredNotification) => Date.parse(n.createdAt) + ttl > now();
  const streamHeads = createStreamHeads(kv);

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
    // The known heads for the first try only: a try that lost a check reads them afresh.
    let known = streamHeads.knownHeads(streams);
    return await commitWithRetry<AppendResult>(async () => {
      let heads = known;
      known = null;
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
          streamHeads.remember(stream, head);
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
          streamHeads.remember(stream, { seq, versionstamp });
          result.heads!.set(stream, { seq, versionstamp });
        }
      };
      return { op, result, committed };
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

  const reads = createReadStates(kv, { ttlMs: ttl, now, alive, heads: streamHeads.heads, byId });
  const { noteHead, heads } = streamHeads;

  return { append, noteHead, heads, range, scan, byId, ...reads };
}

export type NotificationStore = ReturnType<typeof createNotificationStore>;
