/**
 * Delivery records: which of a user's notifications reached one of their sockets, as the client says with
 * `ack`. Only the user's own notifications are recorded, each once; an id that names nothing, or another
 * user's notification, is counted and never stored, so what a client can make this write is bounded by the
 * notifications it was really sent.
 */
import type { Stream } from "./keys.ts";
import { deliveryKey, notificationByIdKey } from "./keys.ts";
import { commitWithRetry, withKvRetry } from "./kv.ts";

/** What became of the ids of one `ack`. */
export interface AckOutcome {
  /** Recorded now. */
  recorded: number;
  /** Already recorded before: left as they were. */
  already: number;
  /** No such notification (never stored, or expired). */
  unknown: number;
  /** A notification of a stream this user does not read. */
  foreign: number;
}

/** `getMany` reads at most 10 keys. */
const BATCH = 10;

/** Delivery records in Deno KV, each expiring after `ttlMs` like the notification it names. */
export function createDeliveryStore(kv: Deno.Kv, options: { ttlMs: number; now?: () => number }) {
  const now = options.now ?? Date.now;

  /** Writes the records of these ids that do not exist yet; returns how many it wrote. */
  function recordNew(userId: string, ids: string[]): Promise<number> {
    return commitWithRetry<number>(async () => {
      const keys = ids.map((id) => deliveryKey(userId, id));
      const existing = await kv.getMany<string[]>(keys);
      const op = kv.atomic();
      const at = new Date(now()).toISOString();
      let written = 0;
      existing.forEach((entry, i) => {
        if (entry.versionstamp !== null) return;
        // Another socket of the user may record the same id meanwhile: the check makes that a retry.
        op.check({ key: keys[i], versionstamp: null }).set(keys[i], at, { expireIn: options.ttlMs });
        written++;
      });
      return written ? { op, result: written } : { done: 0 };
    });
  }

  /**
   * Records that these notifications reached this user's socket. An id is recorded only if it resolves
   * (through `notifications_by_id`) to a notification of one of `streams`, and only once: an existing record
   * is not rewritten. Duplicate ids in one call count once. KV work is at most three operations per 10 ids.
   */
  async function acknowledge(userId: string, streams: readonly Stream[], ids: string[]): Promise<AckOutcome> {
    const outcome: AckOutcome = { recorded: 0, already: 0, unknown: 0, foreign: 0 };
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += BATCH) {
      const batch = unique.slice(i, i + BATCH);
      const refs = await withKvRetry(() =>
        kv.getMany<{ stream: Stream; seq: number }[]>(batch.map(notificationByIdKey))
      );
      const own: string[] = [];
      refs.forEach((ref, j) => {
        if (!ref.value) outcome.unknown++;
        else if (!streams.includes(ref.value.stream)) outcome.foreign++;
        else own.push(batch[j]);
      });
      if (!own.length) continue;
      const written = await recordNew(userId, own);
      outcome.recorded += written;
      outcome.already += own.length - written;
    }
    return outcome;
  }

  return { acknowledge };
}

export type DeliveryStore = ReturnType<typeof createDeliveryStore>;
