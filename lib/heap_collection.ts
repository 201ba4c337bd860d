/**
 * Giving an isolate's freed JavaScript heap back to the operating system after a burst of sockets. A burst of
 * handshakes grows each worker's heap with what the handshakes allocate and let go; V8 returns those pages
 * only when its memory reducer runs, which waits for a quiet moment that busy or pinged sockets put off (in
 * the bench's idle workload 28 s after the burst in one run, later in others, at ~24 KiB resident a socket
 * until then against ~18.5 after). A last-resort collection compacts the heap and frees the empty pages at
 * once, at the cost of one pause: 125–300 ms a worker with 5,000 sockets held, 60–125 ms once they closed.
 */

/** Collects all the isolate's garbage and hands its empty pages back; synchronous, so the isolate pauses. */
export type CollectHeap = () => void;

type GcExtension = (options: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

/**
 * V8's own collection, where the process runs with `--expose-gc` (scripts/v8_flags.ts, which `deno task start`
 * passes). Null without it (`deno serve main.ts`, Deno Deploy): V8's memory reducer gives the pages back in
 * its own time.
 */
export function openHeapCollection(): CollectHeap | null {
  const gc = (globalThis as { gc?: GcExtension }).gc;
  if (typeof gc !== "function") return null;
  return () => gc({ type: "major", execution: "sync", flavor: "last-resort" });
}
