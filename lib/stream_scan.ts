/**
 * Reading a stream's notifications a page at a time: what a `resume` replays, however far back it starts,
 * costs one page of memory, and the reads go only as fast as their consumer takes them.
 */
import type { Stream } from "./keys.ts";
import { notificationKey } from "./keys.ts";
import { withKvRetry } from "./kv.ts";
import type { StoredNotification } from "./notifications.ts";

/** Notifications read per KV list call, and so the most a scan holds at once. */
export const SCAN_PAGE = 100;

export interface ScanOptions {
  /** The last seq to read (inclusive); the end of the stream by default. */
  upTo?: number;
  pageSize?: number;
  /** Whether a stored notification is still within its TTL (KV's expiry is lazy). */
  alive?: (n: StoredNotification) => boolean;
}

/**
 * Yields the live notifications of `stream` with `after < seq <= upTo`, in order, reading `pageSize` per KV
 * list call. It holds one page however long the range, reads the next page only when its consumer asks for
 * more (a consumer that stops iterating stops the reads), and gives nothing, never an error, for positions
 * out of range (negative, fractional, at or past the largest safe integer).
 */
export async function* scanStream(
  kv: Deno.Kv,
  stream: Stream,
  after: number,
  options: ScanOptions = {},
): AsyncGenerator<StoredNotification> {
  const pageSize = Math.max(1, Math.floor(options.pageSize ?? SCAN_PAGE));
  const alive = options.alive ?? (() => true);
  // The last key a page may read: one below the largest safe integer, so that `last + 1` is exact.
  const last = Math.min(options.upTo ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1);
  let from = Number.isFinite(after) ? Math.max(0, Math.floor(after)) : Number.MAX_SAFE_INTEGER;
  while (from < last) {
    const page = await withKvRetry(async () => {
      const entries: Deno.KvEntry<StoredNotification>[] = [];
      const iter = kv.list<StoredNotification>(
        { start: notificationKey(stream, from + 1), end: notificationKey(stream, last + 1) },
        { limit: pageSize },
      );
      for await (const entry of iter) entries.push(entry);
      return entries;
    });
    for (const entry of page) if (alive(entry.value)) yield entry.value;
    if (page.length < pageSize) return;
    from = page[page.length - 1].key[2] as number;
  }
}

/** A probe's answer with the KV entries it read: `[value, entriesRead]`. */
export type Counted<T> = [T, number];

/**
 * The lowest live seq of `stream` in `(after, head]`, or null. Expired notifications lie below live ones (seq
 * follows time), so one read finds it unless expired ones are still stored (KV deletes them lazily); then a
 * binary search does, in about log₂ of the stream's length.
 */
export async function oldestLive(
  kv: Deno.Kv,
  stream: Stream,
  after: number,
  head: number,
  alive: (n: StoredNotification) => boolean,
): Promise<Counted<number | null>> {
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
