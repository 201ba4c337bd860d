/**
 * Under a burst of handshakes V8 grows each worker's young generation and keeps it grown: with 5,000 idle
 * sockets a worker, ~7 KiB of resident memory a socket was young-generation space rather than anything live
 * (live JS heap ~6.5 KiB a socket, bare Deno ~5.6). Capped at 4 MiB a semi-space, resident memory per idle
 * socket fell from ~28.6 to ~20.9 KiB in the bench, handshakes and fan-out unchanged within the noise.
 *
 * `--expose-gc` lets each worker collect its heap and give the empty pages back once a burst of sockets is
 * over (lib/heap_collection.ts), instead of whenever V8's memory reducer finds a quiet moment.
 *
 * The bench gives the bare Deno peer the same flags, so the two are compared on equal terms.
 */
export const V8_FLAGS = "--max-semi-space-size=4,--expose-gc";
