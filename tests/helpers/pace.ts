/**
 * Letting real time pass on purpose, where real time is the point: between the steps of real traffic (a
 * slowloris dripping bytes, webhooks paced to interleave with reconnects), for a timer no clock of ours
 * drives (Deno's own idle timeout), or as a grace in which something that must not happen would show up (an
 * absence is no event to await). Never to wait for a condition (await it, or poll it with `eventually()`),
 * nor to let a limiter, a token or a deadline of the service expire (drive its injected `now()` or fake
 * timers instead).
 */

/** Resolves after `ms` of real time. */
export function pace(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
