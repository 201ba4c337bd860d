/**
 * Keeps a stray error from ending the isolate. An uncaught error or an unhandled rejection would otherwise end
 * a worker (and with it every socket it holds) or the whole process; here each is logged, and work goes on.
 */
import type { Logger } from "./log.ts";

function describe(error: unknown): unknown {
  // The logger keeps an Error's name and message only; for a fault nobody caught, the stack is the lead.
  return error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : error;
}

/**
 * Installs `error` and `unhandledrejection` listeners on this isolate's global scope that log the fault at
 * error level (a fault of ours by definition: nothing handled it) and prevent the default, which would end
 * the isolate and print a stack trace that is not a JSON line.
 */
export function guardAgainstCrashes(log: Logger): void {
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    log.error("Unhandled rejection", { error: describe(event.reason) });
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    log.error("Uncaught error", { error: describe(event.error ?? event.message) });
  });
}
