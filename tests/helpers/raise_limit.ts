/**
 * Run as a subprocess by lib/fd_limit_test.ts: with `--lower=N` (and FFI allowed) it first lowers its own
 * soft descriptor limit to N, then calls `raiseDescriptorLimit()` and prints the outcome as JSON. A process
 * of its own, because the limit belongs to the whole process and tests run side by side.
 */
import { raiseDescriptorLimit } from "../../lib/fd_limit.ts";

const lower = Deno.args.find((a) => a.startsWith("--lower="))?.slice("--lower=".length);
if (lower) {
  const libc = Deno.dlopen(
    "libc.so.6",
    {
      getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
      setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    } as const,
  );
  const limits = new BigUint64Array(2);
  libc.symbols.getrlimit(7, new Uint8Array(limits.buffer));
  limits[0] = BigInt(lower);
  if (libc.symbols.setrlimit(7, new Uint8Array(limits.buffer)) !== 0) throw new Error("setrlimit failed");
  libc.close();
}
console.log(JSON.stringify(raiseDescriptorLimit()));
