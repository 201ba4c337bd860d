/**
 * The `/health` KV check, probed in the background: once a second this isolate makes a KV round trip (the
 * service's is its heartbeat: its record written and read back, lib/isolates.ts), and `/health` reads the
 * verdict without waiting on KV, so it answers at once however KV is doing.
 * One slow round trip (a burst of one user's writes can make one) only warns; KV fails the check when it stays
 * slow for several probes in a row, stops answering, or really fails (a closed handle, an I/O error).
 */
import { type HealthCheck, KV_TIMEOUT_MS } from "./health.ts";

export interface KvProbeOptions {
  /** Pause between round trips. */
  intervalMs?: number;
  /** A round trip slower than this is slow (1 s by default: README "GET /health"). */
  timeoutMs?: number;
  /** Slow round trips in a row, or this many timeouts of waiting on one, before the check fails. */
  failAfter?: number;
  /** Milliseconds, monotonic: how round trips are timed. */
  clock?: () => number;
}

export interface KvProbe {
  /** Runs the first round trip (bounded by the timeout), then one every `intervalMs`. */
  start(): Promise<void>;
  /** Runs one round trip now and records its verdict; while one is still unanswered, waits for that one. */
  probe(): Promise<void>;
  /** The verdict so far, at once. */
  check(): HealthCheck;
  /** Stops probing; waits for a round trip in flight at most `timeoutMs`. */
  stop(): Promise<void>;
}

/**
 * Times `roundTrip`, which writes to KV and reads back what it wrote, throwing on a real failure ("database is
 * locked" retried first, as everywhere). The service's heartbeat is its round trip: a probe of its own was a
 * second durable commit a second per isolate, and a commit costs 0.3–1 ms of CPU (bench/RESULTS.md).
 */
export function createKvProbe(roundTrip: () => Promise<unknown>, options: KvProbeOptions = {}): KvProbe {
  const intervalMs = options.intervalMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? KV_TIMEOUT_MS;
  const failAfter = options.failAfter ?? 3;
  const clock = options.clock ?? (() => performance.now());
  let inFlight: { startedAt: number; done: Promise<void> } | null = null;
  let last: { ms: number; error?: string } | null = null;
  /** Round trips in a row that took longer than `timeoutMs`. */
  let slowInARow = 0;
  let timer: ReturnType<typeof setInterval> | undefined;

  function probe(): Promise<void> {
    if (inFlight) return inFlight.done;
    const startedAt = clock();
    const done = roundTrip().then(
      () => {
        const ms = clock() - startedAt;
        slowInARow = ms > timeoutMs ? slowInARow + 1 : 0;
        last = { ms };
      },
      (error) => {
        last = { ms: clock() - startedAt, error: error instanceof Error ? error.message : String(error) };
      },
    ).finally(() => inFlight = null);
    inFlight = { startedAt, done };
    return done;
  }

  /** Waits for `work` at most `ms`, leaving no timer behind. */
  async function atMost(work: Promise<void>, ms: number) {
    let bound: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([work, new Promise<void>((resolve) => bound = setTimeout(resolve, ms))]);
    clearTimeout(bound);
  }

  function check(): HealthCheck {
    const verdict = (status: HealthCheck["status"], ms: number, detail?: string): HealthCheck => ({
      name: "kv",
      status,
      value: Math.round(ms * 100) / 100,
      threshold: timeoutMs,
      ...(detail ? { detail } : {}),
    });
    const waiting = inFlight ? clock() - inFlight.startedAt : 0;
    if (waiting >= failAfter * timeoutMs) {
      return verdict("fail", waiting, `KV has not answered a round trip for ${Math.round(waiting)} ms`);
    }
    if (!last) return verdict("warn", waiting, "KV not probed yet");
    if (last.error) return verdict("fail", last.ms, last.error);
    if (slowInARow >= failAfter) {
      return verdict("fail", last.ms, `${slowInARow} round trips in a row took longer than ${timeoutMs} ms`);
    }
    if (waiting > timeoutMs) {
      return verdict("warn", waiting, `A round trip is still waiting after ${Math.round(waiting)} ms`);
    }
    if (slowInARow > 0) {
      return verdict(
        "warn",
        last.ms,
        `The last ${slowInARow} round trip(s) took longer than ${timeoutMs} ms`,
      );
    }
    return verdict("pass", last.ms);
  }

  return {
    async start() {
      await atMost(probe(), timeoutMs);
      timer ??= setInterval(probe, intervalMs);
    },
    probe,
    check,
    async stop() {
      clearInterval(timer);
      timer = undefined;
      if (inFlight) await atMost(inFlight.done, timeoutMs);
    },
  };
}
