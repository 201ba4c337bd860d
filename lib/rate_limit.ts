/**
 * Per-socket frame rate: a sliding window over the last minute, estimated from this and the previous fixed
 * minute so it costs two numbers per socket. Past the limit frames are dropped; at twice it the socket closes.
 */
export type RateVerdict = "ok" | "limited" | "abusive";

const WINDOW_MS = 60_000;

export interface FrameRateLimiter {
  /** Counts one frame and says whether it may be handled. */
  hit(): RateVerdict;
}

/** Creates a limiter allowing `perMinute` frames in any sliding minute. */
export function createFrameRateLimiter(perMinute: number, now: () => number = Date.now): FrameRateLimiter {
  let windowStart = now();
  let current = 0;
  let previous = 0;
  return {
    hit() {
      const t = now();
      const elapsedWindows = Math.floor((t - windowStart) / WINDOW_MS);
      if (elapsedWindows > 0) {
        previous = elapsedWindows === 1 ? current : 0;
        current = 0;
        windowStart += elapsedWindows * WINDOW_MS;
      }
      current++;
      const weight = 1 - (t - windowStart) / WINDOW_MS;
      const rate = previous * weight + current;
      if (rate > perMinute * 2) return "abusive";
      return rate > perMinute ? "limited" : "ok";
    },
  };
}
