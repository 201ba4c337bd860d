/**
 * The one way tests wait for state that settles in the background (another isolate's beat, a record written
 * after open, a process that starts listening) where there is no event to await: poll it, with a deadline and
 * a message saying what never came.
 */

/**
 * Pauses between checks: the first short, so that a test does not wait for what is already there, then
 * doubling up to the last, and never shorter than the check itself took, so that a long wait or a costly
 * check (a scan of thousands of KV keys, an HTTP request to a busy process) does not load a shared machine.
 */
const FIRST_PAUSE_MS = 25;
const LAST_PAUSE_MS = 200;

/** What a check returns while the condition does not hold yet. */
type NotYet = undefined | null | false;

/**
 * Runs `check` until it returns something other than `undefined`, `null` or `false`, and resolves with
 * that (so a check may return `true`, or the value it was waiting for). Rejects naming `what` when `ms`
 * have passed without it (`what` may be a function, to describe the state seen last), and at once if
 * `check` throws.
 */
export async function eventually<T>(
  check: () => T | NotYet | Promise<T | NotYet>,
  ms: number,
  what: string | (() => string),
): Promise<T> {
  const deadline = Date.now() + ms;
  for (let pause = FIRST_PAUSE_MS;; pause = Math.min(pause * 2, LAST_PAUSE_MS)) {
    const started = Date.now();
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value as T;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`);
    }
    const took = Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, Math.max(pause, took)));
  }
}
