/**
 * Write-behind for values that change often and often die young, such as a socket's connection record: writes
 * gather for a moment, and while a commit is in flight, and then go together in one commit. Under a burst of
 * handshakes a record then costs a share of one KV commit rather than a commit of its own (each is a SQLite
 * transaction, the main cost of a handshake).
 *
 * - The latest intent per id wins: a set after a set replaces it, a delete after a set cancels it.
 * - A value is built only when its commit is: what waits is how to build it.
 * - Deleting an id whose value never reached a commit costs no write at all: nothing was stored, so nothing
 *   is deleted. A socket that closes before its record was written leaves no trace in KV.
 */

/** One commit's worth of intents; ids are distinct across both lists. */
export interface WriteBatch<T> {
  sets: [id: string, value: T][];
  deletes: string[];
}

export interface BatchedWritesOptions<T> {
  /** Resolves when the writes gathered so far should go (after a delay in production; a gate in tests). */
  gather(): Promise<unknown>;
  /** Commits one batch, atomically; its rejection rejects the writes waiting on it. */
  commit(batch: WriteBatch<T>): Promise<void>;
  /** Most intents one commit carries (a KV atomic operation takes at most 1,000 mutations). */
  maxBatch: number;
}

export interface BatchedWrites<T> {
  /**
   * Queues these values, each built when its commit is. Resolves once they, and any intent queued meanwhile,
   * are committed.
   */
  set(entries: Iterable<readonly [id: string, build: () => T]>): Promise<void>;
  /** Queues the delete of `id`'s value: no write at all if it was never committed. Resolves as `set` does. */
  delete(id: string): Promise<void>;
}

/** Creates a write-behind buffer that commits through `options.commit`, one batch at a time. */
export function createBatchedWrites<T>(options: BatchedWritesOptions<T>): BatchedWrites<T> {
  const { gather, commit, maxBatch } = options;
  /** The latest intent per id: how to build its value, or null for a delete. */
  const pending = new Map<string, (() => T) | null>();
  /** Ids whose value is in the store or in the commit in flight: only these need a delete. */
  const stored = new Set<string>();
  let flushing: Promise<void> | null = null;

  /** The next batch, taken out of `pending` in the order its ids were first queued. */
  function takeBatch(): WriteBatch<T> {
    const batch: WriteBatch<T> = { sets: [], deletes: [] };
    for (const [id, build] of pending) {
      if (batch.sets.length + batch.deletes.length === maxBatch) break;
      pending.delete(id);
      if (build) {
        batch.sets.push([id, build()]);
        stored.add(id);
      } else {
        batch.deletes.push(id);
        stored.delete(id);
      }
    }
    return batch;
  }

  async function flush() {
    await gather();
    while (pending.size) await commit(takeBatch());
  }

  function queue(entries: Iterable<readonly [string, (() => T) | null]>): Promise<void> {
    for (const [id, build] of entries) {
      if (build || stored.has(id)) pending.set(id, build);
      else pending.delete(id);
    }
    if (pending.size) flushing ??= flush().finally(() => flushing = null);
    return flushing ?? Promise.resolve();
  }

  return {
    set: (entries) => queue(entries),
    delete: (id) => queue([[id, null]]),
  };
}
