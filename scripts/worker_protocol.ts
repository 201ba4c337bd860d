/** Messages between the process that runs the workers (scripts/workers.ts) and each worker (scripts/worker.ts). */
import type { LogLevel } from "../lib/log.ts";

export type ToWorker =
  /**
   * Build the service. At start-up (`restart: false`) wait for a `listen` message, and report a first bind
   * that fails; a worker replacing a dead one (`restart: true`) listens at once and keeps retrying its bind
   * (descriptors may be short just then), as any listener does once it has been bound.
   */
  | { type: "start"; index: number; hosts: string[]; port: number; logLevel: LogLevel; restart: boolean }
  | { type: "listen" }
  /** Stop listening, close every socket 1001 `Server shutting down`, then answer `stopped`. */
  | { type: "stop" }
  /** A burst of sockets is over: collect the heap and give its empty pages back, then answer `collected`. */
  | { type: "collect" };

export type FromWorker =
  | { type: "built" }
  | { type: "listening"; addresses: string[] }
  /** The service could not be built, or its first bind failed (`portInUse` when the port was taken). */
  | { type: "failed"; message: string; portInUse: boolean }
  /**
   * Sent every `BEAT_INTERVAL_MS`: a worker that stops beating is taken for dead and replaced. `sockets` is
   * how many it holds open, from which the process learns when a burst has ended (lib/burst_watch.ts).
   */
  | { type: "beat"; sockets: number }
  /** The collection's pause, or null where the heap cannot be collected on demand (no `--expose-gc`). */
  | { type: "collected"; ms: number | null }
  | { type: "stopped" };

export const BEAT_INTERVAL_MS = 1000;
