/**
 * Giving the C heap's freed memory back to the operating system after a burst of sockets opened or closed.
 * Each handshake allocates native memory (the upgrade's HTTP state, frame buffers, KV batches); once the burst
 * is over most of it is freed, but glibc keeps the freed pages in its arenas, so resident memory stays near
 * the burst's high-water mark. `malloc_trim(0)` hands them back: 8,000 sockets held 25 s after they opened,
 * 18.3 KiB resident a socket untrimmed, 17.1 once trimmed (bench/RESULTS.md, "Native memory after bursts").
 */

/** glibc's `malloc_trim(0)` through FFI: true when it released memory. */
export type TrimNativeMemory = () => boolean;

/**
 * The trim, where there is one: Linux with glibc and `--allow-ffi` (`deno task start` runs with
 * `--allow-all`). Null elsewhere (musl, macOS, Deno Deploy, no FFI permission): the allocator keeps its pages.
 */
export function openNativeMemoryTrim(): TrimNativeMemory | null {
  if (Deno.build.os !== "linux") return null;
  try {
    const libc = Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } });
    return () => libc.symbols.malloc_trim(0n) === 1;
  } catch {
    return null;
  }
}

/**
 * Sockets opened or closed, net, since the last trim, that make a burst worth trimming after: a trim holds
 * each arena's lock while it walks it (6–17 ms with 8,000 sockets held), so threads allocating meanwhile wait,
 * and a few hundred sockets' memory is not worth that.
 */
export const TRIM_AFTER_SOCKETS = 2_000;
/** A count that moved less than this since the previous look has not moved: the burst is over. */
const STILL_WITHIN = 50;
/**
 * Looks (seconds) the count must hold still before the trim. Much of a burst's native memory is freed only
 * when V8 collects the JavaScript objects that hold it, seconds after the burst: trimmed at the first still
 * second, 8,000 sockets held 25 s after opening took 18.1 KiB each, and 17.2 when trimmed 15 s after.
 */
export const STILL_LOOKS = 15;

/**
 * Decides, from the process's open sockets looked at once a second, when to trim: once the count has moved
 * by `TRIM_AFTER_SOCKETS` since the last trim and then held still for `STILL_LOOKS` looks. So it never trims
 * during a burst, and a process whose sockets come and go steadily never trims at all.
 */
export function createBurstTrimmer(trim: TrimNativeMemory) {
  let atLastTrim = 0;
  let previous = 0;
  let stillFor = 0;
  return {
    /** Takes the open-socket count now; trims when a burst has settled. True when it trimmed. */
    look(openSockets: number): boolean {
      stillFor = Math.abs(openSockets - previous) < STILL_WITHIN ? stillFor + 1 : 0;
      previous = openSockets;
      if (stillFor < STILL_LOOKS || Math.abs(openSockets - atLastTrim) < TRIM_AFTER_SOCKETS) return false;
      atLastTrim = openSockets;
      trim();
      return true;
    },
  };
}
