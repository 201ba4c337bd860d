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
  return new SlidingWindow(perMinute, now);
}

/** Fields rather than a closure: every socket holds one. */
class SlidingWindow implements FrameRateLimiter {
  private windowStart: number;
  private current = 0;
  private previous = 0;

  constructor(private readonly perMinute: number, private readonly now: () => number) {
    this.windowStart = now();
  }

  hit(): RateVerdict {
    const t = this.now();
    const elapsedWindows = Math.floor((t - this.windowStart) / WINDOW_MS);
    if (elapsedWindows > 0) {
      this.previous = elapsedWindows === 1 ? this.current : 0;
      this.current = 0;
      this.windowStart += elapsedWindows * WINDOW_MS;
    }
    this.current++;
    const weight = 1 - (t - this.windowStart) / WINDOW_MS;
    const rate = this.previous * weight + this.current;
    if (rate > this.perMinute * 2) return "abusive";
    return rate > this.perMinute ? "limited" : "ok";
  }
}
