/**
 * The workers of `deno task start`: one per core by default, each an isolate serving the service on the same
 * port with SO_REUSEPORT (scripts/worker.ts). BroadcastChannel crosses the workers of one process, so the
 * default relay carries notifications between them. A worker that dies anyway (its own guards log and
 * swallow stray errors) or stops beating is logged and replaced after a back-off; its siblings go on. Their
 * beats say how many sockets each holds, from which the pool learns when a burst of sockets is over and has
 * them give back the memory it freed (scripts/memory_release.ts).
 */
import type { Logger, LogLevel } from "../lib/log.ts";
import { createBurstWatch } from "../lib/burst_watch.ts";
import { openNativeMemoryTrim, type TrimNativeMemory } from "../lib/native_memory.ts";
import { createMemoryRelease } from "./memory_release.ts";
import { BEAT_INTERVAL_MS, type FromWorker, type ToWorker } from "./worker_protocol.ts";

export interface PoolOptions {
  count: number;
  hosts: readonly string[];
  port: number;
  logLevel: LogLevel;
  log: Logger;
  /** The worker module (tests put a stand-in speaking the same protocol here). */
  workerUrl?: URL;
  /** Silence after which a worker is taken for dead (30 s by default), counted from its start. */
  beatTimeoutMs?: number;
  /**
   * Gives freed native memory back after bursts of sockets, once the workers have collected their heaps;
   * glibc's `malloc_trim` where there is one.
   */
  trimNativeMemory?: TrimNativeMemory | null;
}

export interface WorkerPool {
  /**
   * Resolves with the addresses served once every worker listens; rejects with a `WorkerStartError` when one
   * cannot start (the service cannot be built, or the port is taken), after stopping the others.
   */
  ready: Promise<string[]>;
  /** Asks every worker to close its sockets and waits for them (at most `graceMs`), then ends them. */
  stop(graceMs?: number): Promise<void>;
}

/** A worker could not start; `portInUse` when its first bind found the port taken. */
export class WorkerStartError extends Error {
  constructor(message: string, readonly portInUse: boolean) {
    super(message);
    this.name = "WorkerStartError";
  }
}

interface Slot {
  index: number;
  worker?: Worker;
  built: boolean;
  lastBeat: number;
  /** Sockets it held open at its last beat. */
  sockets: number;
  listeningSince?: number;
  failures: number;
  restart?: ReturnType<typeof setTimeout>;
  stopped?: () => void;
}

const RESTART_BACKOFF_MS = 100;
const MAX_RESTART_BACKOFF_MS = 5000;
/** A worker that listened this long before it died starts its back-off afresh. */
const STABLE_MS = 60_000;

/** Starts `count` workers; see `WorkerPool`. */
export function startWorkerPool(options: PoolOptions): WorkerPool {
  const { log } = options;
  const workerUrl = options.workerUrl ?? new URL("./worker.ts", import.meta.url);
  const beatTimeoutMs = options.beatTimeoutMs ?? 30_000;
  const slots: Slot[] = Array.from(
    { length: options.count },
    (_, index) => ({ index, built: false, lastBeat: Date.now(), sockets: 0, failures: 0 }),
  );
  const trim = options.trimNativeMemory === undefined ? openNativeMemoryTrim() : options.trimNativeMemory;
  const burst = createBurstWatch();
  const release = createMemoryRelease(
    (index) => {
      const slot = slots[index];
      if (!slot.worker) return false;
      send(slot, { type: "collect" });
      return true;
    },
    trim,
    log,
  );
  let started = false;
  let stopping = false;
  let resolveReady!: (addresses: string[]) => void;
  let rejectReady!: (error: WorkerStartError) => void;
  const ready = new Promise<string[]>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // The entry awaits `ready`; a rejection nobody awaited yet must not count as unhandled.
  ready.catch(() => {});

  function send(slot: Slot, message: ToWorker) {
    slot.worker?.postMessage(message);
  }

  function spawn(slot: Slot) {
    const worker = new Worker(workerUrl, { type: "module", name: `worker-${slot.index}` });
    // Counted from now: a worker that never beats (stuck, or gone before its first beat) is found too.
    Object.assign(slot, {
      worker,
      built: false,
      lastBeat: Date.now(),
      sockets: 0,
      listeningSince: undefined,
    });
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      if (slot.worker === worker) receive(slot, event.data);
    };
    worker.onerror = (event) => {
      // Without this, a worker's uncaught error would end the whole process.
      event.preventDefault();
      if (slot.worker === worker) died(slot, `uncaught error: ${event.message}`);
    };
    send(slot, {
      type: "start",
      index: slot.index,
      hosts: [...options.hosts],
      port: options.port,
      logLevel: options.logLevel,
      restart: started,
    });
  }

  function receive(slot: Slot, message: FromWorker) {
    switch (message.type) {
      case "beat":
        slot.lastBeat = Date.now();
        slot.sockets = message.sockets;
        return;
      case "collected":
        return release.collected(slot.index, message.ms);
      case "built":
        slot.built = true;
        // At start-up every worker binds once all are built, so that none takes every early connection.
        if (!started && slots.every((s) => s.built)) { for (const s of slots) send(s, { type: "listen" }); }
        return;
      case "listening":
        slot.listeningSince = Date.now();
        if (started) log.info("Worker listening again", { worker: slot.index, addresses: message.addresses });
        else if (slots.every((s) => s.listeningSince !== undefined)) {
          started = true;
          resolveReady(message.addresses);
        }
        return;
      case "failed":
        return died(slot, message.message, message.portInUse);
      case "stopped":
        slot.stopped?.();
        return;
    }
  }

  function died(slot: Slot, reason: string, portInUse = false) {
    slot.worker?.terminate();
    slot.worker = undefined;
    release.gone(slot.index);
    if (stopping) return;
    if (!started) {
      stopping = true;
      for (const s of slots) {
        s.worker?.terminate();
        s.worker = undefined;
      }
      rejectReady(new WorkerStartError(`Worker ${slot.index} could not start: ${reason}`, portInUse));
      return;
    }
    if (slot.listeningSince !== undefined && Date.now() - slot.listeningSince > STABLE_MS) slot.failures = 0;
    slot.failures++;
    const restartInMs = Math.min(RESTART_BACKOFF_MS * 2 ** (slot.failures - 1), MAX_RESTART_BACKOFF_MS);
    log.error("Worker died; a new one takes its place", { worker: slot.index, reason, restartInMs });
    slot.restart = setTimeout(() => spawn(slot), restartInMs);
  }

  const watchdog = setInterval(() => {
    const now = Date.now();
    for (const slot of slots) {
      if (slot.worker && now - slot.lastBeat > beatTimeoutMs) {
        died(slot, `no beat for ${now - slot.lastBeat} ms`);
      }
    }
    const live = slots.filter((slot) => slot.worker);
    const openSockets = live.reduce((open, slot) => open + slot.sockets, 0);
    if (burst.settled(openSockets)) release.start(live.map((slot) => slot.index), openSockets);
  }, BEAT_INTERVAL_MS);

  async function stop(graceMs = 5000) {
    stopping = true;
    clearInterval(watchdog);
    release.cancel();
    const live = slots.filter((slot) => {
      clearTimeout(slot.restart);
      return slot.worker;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(live.map((slot) => {
        const stopped = new Promise<void>((resolve) => slot.stopped = resolve);
        send(slot, { type: "stop" });
        return stopped;
      })),
      new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
    ]);
    clearTimeout(timer);
    for (const slot of live) slot.worker?.terminate();
  }

  for (const slot of slots) spawn(slot);
  ready.catch(() => clearInterval(watchdog));
  return { ready, stop };
}
