/**
 * What a user has read, kept so that reading it back costs a bounded number of KV entries however long the
 * streams grow:
 *
 * - A read mark per user and stream says "everything up to `seq` is read" (read-all). Read states above it
 *   record notifications read one at a time, and the mark counts them (`states`), atomically with each.
 * - The unread count of a stream is `(head − mark) − read states above the mark`: one probe for the oldest
 *   live notification, plus the mark's count. Only when notifications above the mark have expired (their read
 *   states with them) are the read states listed, and those are few:
 * - at most `READ_STATE_CAP` read states are kept above a mark. The one-at-a-time read that would pass the
 *   cap folds the older half of them into the mark: those, and any notification older than them, count as
 *   read from then on.
 */
import type { Stream } from "./keys.ts";
import { notificationKey, readMarkKey, readStateKey } from "./keys.ts";
import { commitWithRetry, withKvRetry } from "./kv.ts";
import type { Positions, StoredNotification } from "./notifications.ts";

/** Read states kept above a user's read mark per stream before the older half is folded into the mark. */
export const READ_STATE_CAP = 200;
/** Most read states a listing of them returns: the cap, with room for marks written before it existed. */
const STATES_LISTED = 2 * READ_STATE_CAP;

/** `["read_marks", userId, stream]`: everything up to `seq` is read, at `readAt`. */
export interface ReadMark {
  seq: number;
  readAt: string | null;
  /** How many read states lie above `seq`; absent when unknown (a mark from before they were counted). */
  states?: number;
}

const EMPTY_MARK: ReadMark = { seq: 0, readAt: null, states: 0 };

/** A probe's answer with the KV entries it read: `[value, entriesRead]`. */
export type Counted<T> = [T, number];

interface ReadMarkDeps {
  ttlMs: number;
  now: () => number;
  alive: (n: StoredNotification) => boolean;
}

/** Read marks and read states of users over the notifications in `kv`. */
export function createReadMarks(kv: Deno.Kv, deps: ReadMarkDeps) {
  const { ttlMs, now, alive } = deps;

  /** Read states with `after < seq <= upTo`, at most `limit` of them: seq → readAt, ascending. */
  async function statesBetween(
    userId: string,
    stream: Stream,
    after: number,
    upTo = Number.MAX_SAFE_INTEGER - 1,
    limit = STATES_LISTED,
  ): Promise<Map<number, string>> {
    const states = new Map<number, string>();
    if (upTo <= after) return states;
    const iter = kv.list<string>({
      start: readStateKey(userId, stream, after + 1),
      end: readStateKey(userId, stream, Math.min(upTo, Number.MAX_SAFE_INTEGER - 1) + 1),
    }, { limit });
    for await (const entry of iter) states.set(entry.key[3] as number, entry.value);
    return states;
  }

  /** The user's marks on these streams, in one read. */
  async function marksOf(userId: string, streams: Stream[]): Promise<Record<string, ReadMark>> {
    const entries = await withKvRetry(() =>
      kv.getMany<ReadMark[]>(streams.map((s) => readMarkKey(userId, s)))
    );
    return Object.fromEntries(streams.map((s, i) => [s, entries[i].value ?? EMPTY_MARK]));
  }

  /**
   * The lowest live seq in `(after, head]`, or null. Expired notifications lie below live ones (seq follows
   * time), so one read finds it unless expired ones are still stored (KV deletes them lazily); then a binary
   * search does, in about log₂ of the stream's length.
   */
  async function oldestLive(stream: Stream, after: number, head: number): Promise<Counted<number | null>> {
    let reads = 1;
    let first: StoredNotification | undefined;
    const range = { start: notificationKey(stream, after + 1), end: notificationKey(stream, head + 1) };
    for await (const entry of kv.list<StoredNotification>(range, { limit: 1 })) first = entry.value;
    if (!first) return [null, reads];
    if (alive(first)) return [first.seq, reads];
    const isLive = async (seq: number) => {
      reads++;
      const entry = await kv.get<StoredNotification>(notificationKey(stream, seq));
      return entry.value !== null && alive(entry.value);
    };
    if (!(await isLive(head))) return [null, reads];
    let [dead, live] = [first.seq, head];
    while (live - dead > 1) {
      const mid = Math.floor((dead + live) / 2);
      if (await isLive(mid)) live = mid;
      else dead = mid;
    }
    return [live, reads];
  }

  /**
   * Unread notifications of one stream up to `head`. `oldest` is `oldestLive(stream, mark.seq, head)` when
   * the caller has it already.
   */
  async function unreadIn(
    userId: string,
    stream: Stream,
    head: number,
    mark: ReadMark,
    oldest?: Counted<number | null>,
  ): Promise<Counted<number>> {
    if (head <= mark.seq) return [0, 0];
    const [live, probed] = oldest ?? await oldestLive(stream, mark.seq, head);
    if (live === null) return [0, probed];
    // Nothing above the mark has expired, so neither has any read state there: the mark's count is exact.
    if (live === mark.seq + 1 && mark.states !== undefined) {
      return [Math.max(0, head - mark.seq - mark.states), probed];
    }
    const from = live - 1;
    const states = await statesBetween(userId, stream, from, head);
    return [Math.max(0, head - from - states.size), probed + states.size];
  }

  /** The next mark when `seq` is read one at a time above `mark`: counted, and folded past the cap. */
  async function markAfterRead(userId: string, stream: Stream, mark: ReadMark, seq: number, readAt: string) {
    if (mark.states !== undefined && mark.states < READ_STATE_CAP) {
      return { ...mark, states: mark.states + 1 };
    }
    const held = [...(await statesBetween(userId, stream, mark.seq))];
    const complete = held.length < STATES_LISTED;
    // Fewer than the cap (some expired, or the count was unknown): the count is only made exact.
    if (held.length < READ_STATE_CAP) return { ...mark, states: held.length + 1 };
    const half = Math.floor(held.length / 2);
    const [foldedSeq, foldedAt] = held[half - 1];
    return {
      seq: foldedSeq,
      readAt: mark.readAt ?? foldedAt ?? readAt,
      states: complete ? held.length - half + (seq > foldedSeq ? 1 : 0) : undefined,
    };
  }

  /** Marks one of the user's notifications read (atomically with its mark); see the file's header. */
  async function markRead(userId: string, n: StoredNotification): Promise<void> {
    const markKey = readMarkKey(userId, n.stream);
    const stateKey = readStateKey(userId, n.stream, n.seq);
    await commitWithRetry(async () => {
      const [markEntry, stateEntry] = await kv.getMany<[ReadMark, string]>([markKey, stateKey]);
      const mark = markEntry.value ?? EMPTY_MARK;
      if (stateEntry.value !== null || n.seq <= mark.seq) return { done: undefined };
      const readAt = new Date(now()).toISOString();
      const next = await markAfterRead(userId, n.stream, mark, n.seq, readAt);
      const op = kv.atomic().check(markEntry).check(stateEntry).set(markKey, next);
      if (n.seq > next.seq) op.set(stateKey, readAt, { expireIn: ttlMs });
      return { op, result: undefined };
    });
  }

  /** Marks everything in the user's streams up to `heads` read; returns how many were unread. */
  async function markAllRead(userId: string, streams: Stream[], heads: Positions): Promise<number> {
    let updated = 0;
    for (const stream of streams) {
      const markKey = readMarkKey(userId, stream);
      updated += await commitWithRetry<number>(async () => {
        const entry = await kv.get<ReadMark>(markKey);
        const mark = entry.value ?? EMPTY_MARK;
        if (heads[stream] <= mark.seq) return { done: 0 };
        const [unread] = await unreadIn(userId, stream, heads[stream], mark);
        // Read states above the new mark (notifications that arrived since the heads were read) still count.
        const above = await statesBetween(userId, stream, heads[stream]);
        const next: ReadMark = {
          seq: heads[stream],
          readAt: new Date(now()).toISOString(),
          states: above.size < STATES_LISTED ? above.size : undefined,
        };
        return { op: kv.atomic().check(entry).set(markKey, next), result: unread };
      });
    }
    return updated;
  }

  return { marksOf, statesBetween, oldestLive, unreadIn, markRead, markAllRead };
}

export type ReadMarks = ReturnType<typeof createReadMarks>;
