/**
 * KV relay, for platforms whose isolates share nothing but Deno KV: an event log every isolate watches.
 *
 * Publishing appends `["relay_log", n]` (expiring after `logTtlMs`) and moves `["relay_tail"]` to `n` in the
 * same versionstamp-checked commit, so positions are gap-free and a reader that sees tail `n` can list every
 * entry up to `n`. Each isolate watches the tail and reads the log after its own position. An isolate that
 * falls more than `logTtlMs` behind misses entries; the hub fills such gaps from the store.
 *
 * `kv.watch` on a local SQLite file only sees writes made by the same process, so the relay also polls the
 * tail every `pollMs`: fast when several processes share a file, a slow safety net on Deno Deploy or denokv
 * where the watch sees every writer.
 */
import { commitWithRetry, withKvRetry } from "./kv.ts";
import { relayLogKey, relayTailKey } from "./keys.ts";
import type { Relay, RelayEvent, RelayOptions } from "./relay.ts";
import { createRelayHealthTracker } from "./relay_health.ts";

export interface KvRelayOptions extends RelayOptions {
  /** How long a log entry lives: readers further behind than this miss it. */
  logTtlMs?: number;
  /** Pause before watching again after the watch failed. */
  retryMs?: number;
  /** How often the tail is also read without waiting for the watch. */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates a relay over `kv`. It starts at the current tail (events published before it are not replayed),
 * never throws from `publish`, and re-opens its watch after a failure until `close()`.
 */
export async function createKvRelay(kv: Deno.Kv, options: KvRelayOptions): Promise<Relay> {
  const logTtlMs = options.logTtlMs ?? 60_000;
  const retryMs = options.retryMs ?? 500;
  const pollMs = options.pollMs ?? 1000;
  const tracker = createRelayHealthTracker("kv", options.log, options.metrics);
  let handler: ((event: RelayEvent) => void) | undefined;
  let position = (await withKvRetry(() => kv.get<number>(relayTailKey()))).value ?? 0;
  let closed = false;
  let reader: ReadableStreamDefaultReader<Deno.KvEntryMaybe<number>[]> | undefined;
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  /** Reads of the log run one after another, whoever (watch or poll) asked for them. */
  let reading: Promise<void> = Promise.resolve();

  /** Hands over every entry after `position` up to `tail`, in order. */
  async function readUpTo(tail: number) {
    // The tail only moves forward; a lower one is a stale sighting (a watch value behind a poll).
    if (tail <= position) return;
    const entries = kv.list<RelayEvent>({ start: relayLogKey(position + 1), end: relayLogKey(tail + 1) });
    for await (const entry of entries) {
      try {
        handler?.(entry.value);
      } catch (error) {
        tracker.fail("handler", error);
      }
      // Kept per entry, so a read retried after a failure does not hand these over again.
      position = entry.key[1] as number;
    }
    position = tail;
  }

  /** Reads the log up to `tail` (the stored tail when not given); failures are counted, never thrown. */
  function catchUp(tail?: number): Promise<void> {
    reading = reading.then(async () => {
      try {
        const upTo = tail ?? (await withKvRetry(() => kv.get<number>(relayTailKey()))).value ?? 0;
        await withKvRetry(() => readUpTo(upTo));
        tracker.ok("read");
      } catch (error) {
        if (!closed) tracker.fail("read", error);
      }
    });
    return reading;
  }

  function poll() {
    pollTimer = setTimeout(async () => {
      await catchUp();
      if (!closed) poll();
    }, pollMs);
  }

  async function follow() {
    while (!closed) {
      try {
        reader = kv.watch<[number]>([relayTailKey()]).getReader();
        tracker.ok("watch");
        while (!closed) {
          const { done, value } = await reader.read();
          if (done) break;
          await catchUp(value[0].value ?? 0);
        }
      } catch (error) {
        if (closed) break;
        tracker.fail("watch", error);
      } finally {
        reader?.releaseLock();
      }
      // The watch ended or broke while we still want it: wait a moment, then watch again.
      if (!closed) await sleep(retryMs);
    }
  }
  const following = follow();
  poll();

  return {
    async publish(event) {
      try {
        await commitWithRetry(async () => {
          const tail = await kv.get<number>(relayTailKey());
          const next = (tail.value ?? 0) + 1;
          const op = kv.atomic()
            .check(tail)
            .set(relayLogKey(next), event, { expireIn: logTtlMs })
            .set(relayTailKey(), next);
          return { op, result: undefined };
        });
        tracker.ok("publish");
      } catch (error) {
        tracker.fail("publish", error);
      }
    },
    subscribe(h) {
      handler = h;
    },
    health: () => tracker.health(),
    async close() {
      closed = true;
      clearTimeout(pollTimer);
      await reader?.cancel().catch(() => {});
      await following;
      await reading;
    },
  };
}
