/**
 * What a user has read of a stream, kept so that no notification ever counts as read unless the user read it
 * (one at a time, or by read-all), while counting the unread costs a bounded number of KV entries however long
 * the stream and however many one-at-a-time reads:
 *
 * - The read mark says "everything up to `seq` is read" (read-all, at `readAt`).
 * - A notification read one at a time above the mark gets a read state (its `readAt`, for the listing) and a
 *   bit in a read bitmap (lib/read_bitmaps.ts); the mark keeps, per bitmap chunk, how many bits are set and
 *   when the last notification they mark expires. All three change in one commit, and every change to a
 *   user's reads of a stream rewrites its mark: a check on the mark guards them all.
 * - The unread count of a stream is `(head − floor) − reads in (floor, head]`, `floor` being the mark or, once
 *   notifications above it have expired, the seq below the oldest live one. The reads come from the mark's
 *   per-chunk counts for whole chunks, plus at most two chunks read at the ends of the range.
 * - The mark drops the counts of chunks that lie under it or whose notifications have all expired, so it
 *   holds at most one count per `CHUNK_BITS` live notifications, and a chunk expires with its notifications.
 * - A mark written before the bitmaps (no `chunks`) has at most 400 read states above it (that version folded
 *   them past 200): its count lists them, and its next write builds its bitmaps from them.
 */
import type { Stream } from "./keys.ts";
import { readBitmapKey, readMarkKey, readStateKey } from "./keys.ts";
import { commitWithRetry, withKvRetry } from "./kv.ts";
import type { Positions, StoredNotification } from "./notifications.ts";
import { bitsIn, CHUNK_BITS, chunkOf, chunkStart, countBits, withBit } from "./read_bitmaps.ts";
import { type Counted, oldestLive } from "./stream_scan.ts";

/** Most read states a listing of them returns; marks written before the bitmaps have at most this many. */
const STATES_LISTED = 400;

/** One read bitmap chunk as its mark counts it. */
export interface ChunkCount {
  /** Bits set in the chunk. */
  bits: number;
  /** When (ms since the epoch) the last notification marked in it expires, or later: then it can be forgotten. */
  until: number;
}

/** `["read_marks", userId, stream]`. */
export interface ReadMark {
  /** Everything up to here is read, at `readAt`. */
  seq: number;
  readAt: string | null;
  /** Counts of the read bitmap chunks above `seq`, by chunk; absent on a mark from before the bitmaps. */
  chunks?: Record<number, ChunkCount>;
  /** On a mark from before the bitmaps: how many read states lie above `seq`, if known. */
  states?: number;
}

/** A mark whose bitmaps exist. */
type CountedMark = ReadMark & { chunks: Record<number, ChunkCount> };

const EMPTY_MARK: CountedMark = { seq: 0, readAt: null, chunks: {} };

interface ReadMarkDeps {
  ttlMs: number;
  now: () => number;
  alive: (n: StoredNotification) => boolean;
}

/** Read marks, read states and read bitmaps of users over the notifications in `kv`; see the file's header. */
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

  /** Notifications read one at a time with `after < seq <= upTo`: whole chunks from the counts, ends read. */
  async function readsBetween(
    userId: string,
    stream: Stream,
    chunks: Record<number, ChunkCount>,
    after: number,
    upTo: number,
  ): Promise<Counted<number>> {
    const [first, last] = [chunkOf(after + 1), chunkOf(upTo)];
    let reads = 0;
    const ends: number[] = [];
    for (const [key, count] of Object.entries(chunks)) {
      const chunk = Number(key);
      if (chunk > first && chunk < last) reads += count.bits;
      else if (chunk === first || chunk === last) ends.push(chunk);
    }
    if (!ends.length) return [reads, 0];
    const entries = await withKvRetry(() =>
      kv.getMany<Uint8Array[]>(ends.map((chunk) => readBitmapKey(userId, stream, chunk)))
    );
    entries.forEach((entry, i) => reads += bitsIn(entry.value, ends[i], after, upTo));
    return [reads, ends.length];
  }

  /**
   * Unread notifications of one stream up to `head`, exact. `oldest` is `oldestLive(stream, mark.seq, head)`
   * when the caller has it already.
   */
  async function unreadIn(
    userId: string,
    stream: Stream,
    head: number,
    mark: ReadMark,
    oldest?: Counted<number | null>,
  ): Promise<Counted<number>> {
    if (head <= mark.seq) return [0, 0];
    const [live, probed] = oldest ?? await oldestLive(kv, stream, mark.seq, head, alive);
    if (live === null) return [0, probed];
    const floor = live - 1;
    if (mark.chunks) {
      const [reads, read] = await readsBetween(userId, stream, mark.chunks, floor, head);
      return [head - floor - reads, probed + read];
    }
    // A mark from before the bitmaps: its count holds while nothing above it has expired; else list.
    if (live === mark.seq + 1 && mark.states !== undefined) {
      return [Math.max(0, head - mark.seq - mark.states), probed];
    }
    const states = await statesBetween(userId, stream, floor, head);
    return [Math.max(0, head - floor - states.size), probed + states.size];
  }

  /**
   * The mark with its bitmaps' counts, and the bitmap chunks to write with it: none for a mark that has them;
   * for a mark from before them, chunks built from its read states (the notification of a read state expires
   * no later than a TTL after it was read).
   */
  async function withBitmaps(
    userId: string,
    stream: Stream,
    stored: ReadMark,
  ): Promise<{ mark: CountedMark; bitmaps: Map<number, Uint8Array> }> {
    const bitmaps = new Map<number, Uint8Array>();
    if (stored.chunks) return { mark: stored as CountedMark, bitmaps };
    const chunks: Record<number, ChunkCount> = {};
    for (const [seq, readAt] of await statesBetween(userId, stream, stored.seq)) {
      const chunk = chunkOf(seq);
      bitmaps.set(chunk, withBit(bitmaps.get(chunk) ?? null, seq));
      chunks[chunk] = {
        bits: (chunks[chunk]?.bits ?? 0) + 1,
        until: Math.max(chunks[chunk]?.until ?? 0, Date.parse(readAt) + ttlMs),
      };
    }
    return { mark: { seq: stored.seq, readAt: stored.readAt, chunks }, bitmaps };
  }

  /** The counts worth keeping above `seq`: of chunks reaching above it whose notifications are not all expired. */
  function countsAbove(chunks: Record<number, ChunkCount>, seq: number): Record<number, ChunkCount> {
    const at = now();
    return Object.fromEntries(
      Object.entries(chunks).filter(([chunk, count]) =>
        chunkStart(Number(chunk)) + CHUNK_BITS - 1 > seq && count.until > at
      ),
    );
  }

  /** Marks one of the user's notifications read, atomically with its mark; see the file's header. */
  async function markRead(userId: string, n: StoredNotification): Promise<void> {
    const markKey = readMarkKey(userId, n.stream);
    const stateKey = readStateKey(userId, n.stream, n.seq);
    const chunk = chunkOf(n.seq);
    await commitWithRetry(async () => {
      const [markEntry, stateEntry, bitsEntry] = await kv.getMany<[ReadMark, string, Uint8Array]>([
        markKey,
        stateKey,
        readBitmapKey(userId, n.stream, chunk),
      ]);
      const stored = markEntry.value ?? EMPTY_MARK;
      if (stateEntry.value !== null || n.seq <= stored.seq) return { done: undefined };
      const { mark, bitmaps } = await withBitmaps(userId, n.stream, stored);
      // A mark just built from its read states has its chunks in `bitmaps`, rebuilt whole.
      const bits = withBit(stored.chunks ? bitsEntry.value : bitmaps.get(chunk) ?? null, n.seq);
      bitmaps.set(chunk, bits);
      const chunks = countsAbove(mark.chunks, mark.seq);
      chunks[chunk] = {
        bits: countBits(bits),
        until: Math.max(chunks[chunk]?.until ?? 0, Date.parse(n.createdAt) + ttlMs),
      };
      const op = kv.atomic()
        .check(markEntry)
        .set(markKey, { seq: mark.seq, readAt: mark.readAt, chunks } satisfies ReadMark)
        .set(stateKey, new Date(now()).toISOString(), { expireIn: ttlMs });
      for (const [at, value] of bitmaps) {
        if (chunks[at]) op.set(readBitmapKey(userId, n.stream, at), value, { expireIn: ttlMs });
      }
      return { op, result: undefined };
    });
  }

  /**
   * Marks everything in the user's streams up to `heads` read, in one commit checked against every stream's
   * mark: all the marks move forward together, or none does and it starts again from fresh reads. Returns how
   * many were unread.
   */
  async function markAllRead(userId: string, streams: Stream[], heads: Positions): Promise<number> {
    const keys = streams.map((stream) => readMarkKey(userId, stream));
    return await commitWithRetry<number>(async () => {
      const entries = await kv.getMany<ReadMark[]>(keys);
      const op = kv.atomic();
      const readAt = new Date(now()).toISOString();
      let [unread, moved] = [0, 0];
      for (const [i, stream] of streams.entries()) {
        op.check(entries[i]);
        const stored = entries[i].value ?? EMPTY_MARK;
        if (heads[stream] <= stored.seq) continue;
        // Counted as stored: a mark from before the bitmaps counts from its read states, not from the bitmaps
        // this commit is about to write.
        unread += (await unreadIn(userId, stream, heads[stream], stored))[0];
        const { mark, bitmaps } = await withBitmaps(userId, stream, stored);
        moved++;
        // Reads above the new mark (of notifications newer than `heads`) keep their counts.
        const chunks = countsAbove(mark.chunks, heads[stream]);
        op.set(keys[i], { seq: heads[stream], readAt, chunks } satisfies ReadMark);
        for (const [at, value] of bitmaps) {
          if (chunks[at]) op.set(readBitmapKey(userId, stream, at), value, { expireIn: ttlMs });
        }
      }
      return moved ? { op, result: unread } : { done: 0 };
    });
  }

  return { marksOf, statesBetween, unreadIn, markRead, markAllRead };
}

export type ReadMarks = ReturnType<typeof createReadMarks>;
