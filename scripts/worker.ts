/**
 * One worker of `deno task start`: builds the service in its own isolate and serves it on the shared port
 * with SO_REUSEPORT, next to its sibling workers (the kernel spreads connections over them). Started and
 * stopped by scripts/workers.ts; see scripts/worker_protocol.ts for the messages.
 */
/// <reference lib="deno.worker" />
import { guardAgainstCrashes } from "../lib/crash_guard.ts";
import { openHeapCollection } from "../lib/heap_collection.ts";
import type { KeptListener } from "../lib/listener.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import { type Instance, listenOnHosts, loadInstance } from "./instance.ts";
import { BEAT_INTERVAL_MS, type FromWorker, type ToWorker } from "./worker_protocol.ts";

const post = (message: FromWorker) => self.postMessage(message);
let start: Extract<ToWorker, { type: "start" }> | undefined;
let log: Logger = createLogger("info", { service: "jasaweb-realtime" });
let instance: Instance | undefined;
let listeners: KeptListener[] = [];
const collectHeap = openHeapCollection();

async function listen() {
  if (!start || !instance) return;
  try {
    const bound = await listenOnHosts(instance, {
      hosts: start.hosts,
      port: start.port,
      reusePort: true,
      firstBind: start.restart ? "retry" : "throw",
      log,
    });
    listeners = bound.listeners;
    post({ type: "listening", addresses: bound.addresses });
  } catch (error) {
    post({ type: "failed", message: String(error), portInUse: error instanceof Deno.errors.AddrInUse });
  }
}

async function stop() {
  for (const listener of listeners) listener.close();
  listeners = [];
  await instance?.service.shutdown().catch((error) => log.warn("Shutdown failed", { error }));
  // Give the close frames a moment to leave before the process ends.
  await new Promise((resolve) => setTimeout(resolve, 250));
  post({ type: "stopped" });
}

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "start":
      start = message;
      log = createLogger(message.logLevel, { service: "jasaweb-realtime", worker: message.index });
      guardAgainstCrashes(log);
      setInterval(
        () => post({ type: "beat", sockets: instance?.service.openSockets() ?? 0 }),
        BEAT_INTERVAL_MS,
      );
      try {
        instance = await loadInstance();
      } catch (error) {
        post({ type: "failed", message: String(error), portInUse: false });
        return;
      }
      post({ type: "built" });
      if (message.restart) await listen();
      return;
    case "listen":
      return await listen();
    case "stop":
      return await stop();
    case "collect": {
      if (!collectHeap) return post({ type: "collected", ms: null });
      const startedAt = performance.now();
      collectHeap();
      const ms = performance.now() - startedAt;
      instance?.service.metrics.observe("realtime_heap_collection_seconds", ms / 1000);
      return post({ type: "collected", ms: Math.round(ms) });
    }
  }
};
