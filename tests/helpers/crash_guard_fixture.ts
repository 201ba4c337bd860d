/**
 * Run as a subprocess by lib/crash_guard_test.ts: in the main isolate and in a worker of its own, installs
 * the crash guard, then throws an uncaught error and leaves a rejection unhandled, and reports it lives on.
 */
/// <reference lib="deno.worker" />
import { guardAgainstCrashes } from "../../lib/crash_guard.ts";
import { createLogger } from "../../lib/log.ts";

const inWorker = typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope;
guardAgainstCrashes(createLogger("info", { isolate: inWorker ? "worker" : "main" }));
setTimeout(() => {
  throw new Error("boom");
}, 10);
Promise.reject(new Error("nope"));

if (inWorker) {
  setTimeout(() => self.postMessage("worker still here"), 200);
} else {
  const worker = new Worker(import.meta.url, { type: "module" });
  worker.onmessage = (event) => {
    console.log(event.data);
    setTimeout(() => {
      console.log("main still here");
      worker.terminate();
    }, 100);
  };
}
