/**
 * Giving the C heap's freed memory back to the operating system after a burst of sockets opened or closed.
 * Each handshake allocates native memory (the upgrade's HTTP state, frame buffers, KV batches); once the burst
 * is over most of it is freed, but glibc keeps the freed pages in its arenas, so resident memory stays near
 * the burst's high-water mark. `malloc_trim(0)` hands them back: 8,000 sockets held 25 s after they opened,
 * 18.3 KiB resident a socket untrimmed, 17.1 once trimmed (bench/RESULTS.md, "Native memory after bursts").
 * When to trim is lib/burst_watch.ts's to say.
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
