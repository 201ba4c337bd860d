/**
 * A stand-in for scripts/worker.ts in scripts/workers_test.ts: it speaks the same protocol without building a
 * service, and misbehaves as its URL asks. `?mode=throw` or `?mode=exit`: worker 0 throws an uncaught error,
 * or exits silently, once listening, the first time only (`&marker=<path>` remembers that across workers);
 * `?mode=fail-start`: every worker reports its port taken; `?mode=burst`: every worker reports 1,200 sockets open
 * from its fourth beat on, and takes 200 ms to answer `collect`, writing when it starts and ends to the file
 * `&journal=<path>`. Messages are those of scripts/worker_protocol.ts.
 */
// JavaScript, not TypeScript: `deno test` would type-check the module again for every worker it starts.

const params = new URL(import.meta.url).searchParams;
const mode = params.get("mode") ?? "ok";
const marker = params.get("marker");
const journal = params.get("journal");
const post = (message) => self.postMessage(message);
let index = -1;
const COLLECT_MS = 200;

/** True the first time any incarnation of worker 0 asks. */
function firstTime() {
  if (!marker) return true;
  try {
    Deno.writeTextFileSync(marker, "", { createNew: true });
    return true;
  } catch {
    return false;
  }
}

function listen() {
  post({ type: "listening", addresses: [`http://stand-in:${index}`] });
  if (index !== 0 || !firstTime()) return;
  if (mode === "throw") {
    setTimeout(() => {
      throw new Error("stand-in fault");
    }, 50);
  }
  if (mode === "exit") setTimeout(() => Deno.exit(3), 50);
}

self.onmessage = (event) => {
  const message = event.data;
  if (message.type === "start") {
    index = message.index;
    let beats = 0;
    setInterval(() => post({ type: "beat", sockets: mode === "burst" && ++beats > 3 ? 1_200 : 0 }), 100);
    if (mode === "fail-start") return post({ type: "failed", message: "AddrInUse", portInUse: true });
    post({ type: "built" });
    if (message.restart) listen();
  } else if (message.type === "listen") listen();
  else if (message.type === "stop") post({ type: "stopped" });
  else if (message.type === "collect") {
    Deno.writeTextFileSync(journal, `collect ${index}\n`, { append: true });
    setTimeout(() => {
      Deno.writeTextFileSync(journal, `collected ${index}\n`, { append: true });
      post({ type: "collected", ms: COLLECT_MS });
    }, COLLECT_MS);
  }
};
