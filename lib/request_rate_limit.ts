/**
 * Per-key request budgets for the REST API: a token bucket per key (a user id) holding up to `perMinute`
 * requests and refilling at `perMinute` a minute, so a burst of a minute's budget passes and then one request
 * every `60 / perMinute` seconds. Kept in this isolate's memory: each isolate (each worker of
 * `deno serve --parallel`) enforces its own budget.
 *
 * Memory is bounded: at most `maxKeys` buckets are kept, the least recently used dropped first. A dropped
 * bucket starts full again, which only matters when more than `maxKeys` users call this isolate within the
 * minute a bucket takes to refill.
 */

export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until the next request would be allowed (0 when this one was). */
  retryAfterSeconds: number;
}

export interface RequestRateLimiter {
  /** Takes one request from `key`'s budget if there is one. */
  take(key: string): RateDecision;
  /** Buckets held right now (at most `maxKeys`). */
  size(): number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Creates a limiter of `perMinute` requests per key, holding at most `maxKeys` keys. */
export function createRequestRateLimiter(
  options: { perMinute: number; maxKeys?: number; now?: () => number },
): RequestRateLimiter {
  const { perMinute } = options;
  const maxKeys = options.maxKeys ?? 10_000;
  const now = options.now ?? Date.now;
  const perMs = perMinute / 60_000;
  // A Map keeps insertion order: re-inserting on each use makes its first key the least recently used.
  const buckets = new Map<string, Bucket>();

  return {
    take(key) {
      const t = now();
      const known = buckets.get(key);
      const tokens = known ? Math.min(perMinute, known.tokens + (t - known.at) * perMs) : perMinute;
      if (known) buckets.delete(key);
      else if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value!);
      if (tokens >= 1) {
        buckets.set(key, { tokens: tokens - 1, at: t });
        return { allowed: true, retryAfterSeconds: 0 };
      }
      buckets.set(key, { tokens, at: t });
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)) };
    },
    size: () => buckets.size,
  };
}
