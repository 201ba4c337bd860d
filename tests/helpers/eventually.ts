/**
 * Polling for state that settles in the background (another isolate's beat, a record written after open),
 * where there is no event to await.
 */

/** Resolves with the first defined value `check` returns, polling every 50 ms; rejects after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  ms = 5000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + ms;
  while (true) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
