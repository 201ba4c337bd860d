/**
 * Listing a user's notifications newest first across their streams, at a cost bounded per request whatever
 * the length of the streams:
 *
 * - the scan of a stream starts below its oldest live notification's position (expired ones still stored
 *   are never read one by one) and, for an unread page, above the user's read mark (everything under it is
 *   read), so an unread listing after read-all reads no notification at all;
 * - a page examines at most `SCAN_BUDGET` stored notifications, and reads only the read states of those it
 *   examined. When the budget runs out before the page is full, the page ends early with a `next` position to
 *   continue from: it may hold fewer items than asked, even none, and the listing ends when `next` is null;
 * - the unread count comes from the read marks (`lib/read_marks.ts`): per stream the mark, the probe above, and
 *   at most two read bitmap chunks.
 */
import type { Stream } from "./keys.ts";
import { notificationKey } from "./keys.ts";
import type { NotificationView, Positions, StoredNotification } from "./notifications.ts";
import { notificationView } from "./notification_view.ts";
import type { ReadMarks } from "./read_marks.ts";
import { oldestLive } from "./stream_scan.ts";

/** Stored notifications a page may examine. */
export const SCAN_BUDGET = 500;

export interface ListRequest {
  userId: string;
  streams: Stream[];
  /** Each stream's head now. */
  heads: Positions;
  /** Continue below these positions (the heads, for a first page). */
  below: Positions;
  unread: boolean;
  limit: number;
}

export interface ListedPage {
  items: NotificationView[];
  /** Where the next page starts, or null when nothing is left. */
  next: Positions | null;
  unreadCount: number;
  /** KV entries this page read (notifications, read states, marks, probes): bounded, see the file's header. */
  examined: number;
}

/**
 * Lists pages of notifications from `kv` with the read state of `marks`; `alive` says whether a stored
 * notification is still within its TTL.
 */
export function createNotificationLister(
  kv: Deno.Kv,
  marks: ReadMarks,
  alive: (n: StoredNotification) => boolean,
) {
  /** One page, newest first across the streams, within `SCAN_BUDGET`; see the file's header. */
  return async function listPage(request: ListRequest): Promise<ListedPage> {
    const { userId, streams, limit } = request;
    const readMarks = await marks.marksOf(userId, streams);
    let examined = streams.length;
    let budget = SCAN_BUDGET;
    const below: Positions = { ...request.below };
    // Nothing below a stream's oldest live notification is worth a look (it has expired), nor, for an unread
    // page, anything at or under the read mark (it is read).
    const lives = await Promise.all(
      streams.map((s) => oldestLive(kv, s, request.unread ? readMarks[s].seq : 0, request.heads[s], alive)),
    );
    const floors: Positions = {};
    streams.forEach((s, i) => {
      const [oldest, probed] = lives[i];
      floors[s] = oldest === null ? Number.MAX_SAFE_INTEGER : oldest - 1;
      examined += probed;
    });
    const buffers = new Map<Stream, StoredNotification[]>();
    const states = new Map<Stream, Map<number, string>>();
    const exhausted = new Set<Stream>();

    /** Fetches the next batch of a stream; false when the budget is spent and the stream may hold more. */
    const refill = async (stream: Stream): Promise<boolean> => {
      const lowest = floors[stream];
      if (below[stream] <= lowest) {
        exhausted.add(stream);
        buffers.set(stream, []);
        return true;
      }
      const take = Math.min(limit + 1, budget);
      if (take <= 0) return false;
      budget -= take;
      const batch: StoredNotification[] = [];
      const iter = kv.list<StoredNotification>({
        start: notificationKey(stream, lowest + 1),
        end: notificationKey(stream, below[stream] + 1),
      }, { reverse: true, limit: take });
      for await (const entry of iter) batch.push(entry.value);
      budget += take - batch.length;
      examined += batch.length;
      if (batch.length < take) exhausted.add(stream);
      buffers.set(stream, batch);
      if (batch.length) {
        // Only the batch's own range: read states cost no more than the notifications they annotate.
        const after = Math.max(readMarks[stream].seq, batch[batch.length - 1].seq - 1);
        const found = await marks.statesBetween(userId, stream, after, batch[0].seq, batch.length);
        examined += found.size;
        states.set(stream, found);
      }
      return true;
    };

    const readAtOf = (n: StoredNotification) =>
      states.get(n.stream)?.get(n.seq) ??
        (n.seq <= readMarks[n.stream].seq ? readMarks[n.stream].readAt : null);

    await Promise.all(streams.map(refill));
    const items: NotificationView[] = [];
    let stalled = false;
    while (items.length < limit && !stalled) {
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
      if (alive(n)) {
        const readAt = readAtOf(n); // before a refill replaces the batch's read states
        if (!request.unread || !readAt) items.push(notificationView(n, readAt));
      }
      // A stream that may hold more must show its next one before any other is picked, or order breaks.
      if (!buffers.get(pick)!.length && !exhausted.has(pick)) stalled = !(await refill(pick));
    }
    const more = streams.some((s) => (buffers.get(s)?.length ?? 0) > 0 || !exhausted.has(s));
    let unreadCount = 0;
    for (
      const [count, read] of await Promise.all(
        // An unread page searched above the marks already; its finds are reused, and not counted again.
        streams.map((s, i) =>
          marks.unreadIn(
            userId,
            s,
            request.heads[s],
            readMarks[s],
            request.unread ? [lives[i][0], 0] : undefined,
          )
        ),
      )
    ) {
      unreadCount += count;
      examined += read;
    }
    return { items, next: more ? below : null, unreadCount, examined };
  };
}
