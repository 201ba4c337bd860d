/**
 * What the process of `deno task start` does once a burst of sockets is over (lib/burst_watch.ts): each worker
 * collects its heap (lib/heap_collection.ts), one at a time, so that only one isolate pauses while its
 * siblings serve on; then glibc trims the C heap (lib/native_memory.ts), last, because the collections free
 * native memory that the collected objects held.
 */
import type { Logger } from "../lib/log.ts";
import type { TrimNativeMemory } from "../lib/native_memory.ts";

/** A worker asked to collect that has not answered by then is passed over: a release never hangs. */
const COLLECT_TIMEOUT_MS = 10_000;

export interface MemoryRelease {
  /** Starts a release over these workers (by index), in order, unless one is still under way. */
  start(workers: number[], openSockets: number): void;
  /** A worker answered `collected`. */
  collected(worker: number, ms: number | null): void;
  /** A worker is gone: a release waiting on it goes on without it. */
  gone(worker: number): void;
  /** The process is stopping: a release under way ends where it is. */
  cancel(): void;
}

interface Release {
  openSockets: number;
  waiting: number[];
  /** The worker asked last: the only one whose answer moves the release on. */
  asked?: number;
  timer?: ReturnType<typeof setTimeout>;
  /** Each worker's pause by index; null where its heap could not be collected or it did not answer. */
  collectMs: (number | null)[];
}

/**
 * `ask(worker)` sends a worker `collect` and says whether there was a worker to send it to; `trim` is null
 * where the C heap cannot be trimmed.
 */
export function createMemoryRelease(
  ask: (worker: number) => boolean,
  trim: TrimNativeMemory | null,
  log: Logger,
): MemoryRelease {
  let release: Release | null = null;

  function next(current: Release) {
    clearTimeout(current.timer);
    while (current.waiting.length) {
      const worker = current.waiting.shift()!;
      if (!ask(worker)) continue;
      current.asked = worker;
      current.timer = setTimeout(() => answered(worker, null), COLLECT_TIMEOUT_MS);
      return;
    }
    release = null;
    const startedAt = performance.now();
    const trimmed = trim?.();
    log.info("Memory given back after a burst of sockets", {
      openSockets: current.openSockets,
      collectMs: current.collectMs,
      trimMs: trim ? Math.round(performance.now() - startedAt) : null,
      trimmed: trimmed ?? null,
    });
  }

  function answered(worker: number, ms: number | null) {
    if (release?.asked !== worker) return;
    release.collectMs[worker] = ms;
    next(release);
  }

  return {
    start(workers, openSockets) {
      if (release) return;
      const collectMs = Array.from({ length: Math.max(-1, ...workers) + 1 }, () => null);
      release = { openSockets, waiting: [...workers], collectMs };
      next(release);
    },
    collected: answered,
    gone: (worker) => answered(worker, null),
    cancel() {
      clearTimeout(release?.timer);
      release = null;
    },
  };
}
