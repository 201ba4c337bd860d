/**
 * A socket's `ack` frames: a budget of how many ids it may have checked against the store per minute, and
 * the count of what is dropped. Checking an id costs KV reads whether or not it names anything, so a client
 * that acks made-up ids costs a bounded amount of work, and one that acks what it was sent never reaches the
 * budget.
 */
import type { AckOutcome } from "./deliveries.ts";
import type { Metrics } from "./metrics.ts";

/** Ids a socket may have checked per minute. */
export const ACK_IDS_PER_MINUTE = 1000;

const WINDOW_MS = 60_000;
const DROPPED = "realtime_acks_dropped_total";

export interface AckBudget {
  /** Takes up to `wanted` ids from this minute's budget; returns how many were granted. */
  take(wanted: number): number;
}

/** A fixed-window budget of `perMinute` ids, on the injected clock. */
export function createAckBudget(perMinute = ACK_IDS_PER_MINUTE, now: () => number = Date.now): AckBudget {
  return new FixedWindow(perMinute, now);
}

/** Fields rather than a closure; made only for sockets that ever ack. */
class FixedWindow implements AckBudget {
  private windowStart: number;
  private used = 0;

  constructor(private readonly perMinute: number, private readonly now: () => number) {
    this.windowStart = now();
  }

  take(wanted: number): number {
    const t = this.now();
    if (t - this.windowStart >= WINDOW_MS) {
      this.windowStart = t;
      this.used = 0;
    }
    const granted = Math.max(0, Math.min(wanted, this.perMinute - this.used));
    this.used += granted;
    return granted;
  }
}

/** What the ack of one frame did with its ids. */
export interface AckDrops {
  /** Ids dropped because the budget was used up (the caller answers `rate_limited`). */
  overBudget: number;
  /** The check and the writes of the granted ids, counting what they drop once they are done. */
  done: Promise<void>;
}

/**
 * Takes `ids` against `budget`, hands the granted ones to `record`, and counts every dropped id in
 * `realtime_acks_dropped_total{reason}` (`over_budget`, `unknown`, `foreign`). The budget is charged before
 * anything is awaited, so the ack work a socket has in flight is bounded by it too.
 */
export function acknowledgeWithin(
  budget: AckBudget,
  ids: string[],
  record: (ids: string[]) => Promise<AckOutcome>,
  metrics: Metrics,
): AckDrops {
  const unique = [...new Set(ids)];
  const granted = budget.take(unique.length);
  const overBudget = unique.length - granted;
  if (overBudget) metrics.inc(DROPPED, { reason: "over_budget" }, overBudget);
  const done = granted
    ? record(unique.slice(0, granted)).then((outcome) => {
      if (outcome.unknown) metrics.inc(DROPPED, { reason: "unknown" }, outcome.unknown);
      if (outcome.foreign) metrics.inc(DROPPED, { reason: "foreign" }, outcome.foreign);
    })
    : Promise.resolve();
  return { overBudget, done };
}
