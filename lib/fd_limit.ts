/**
 * The process's descriptor limit (RLIMIT_NOFILE). Every socket holds a descriptor, and past the soft limit
 * accepting fails with EMFILE. Deno has no setrlimit, so libc's `getrlimit`/`setrlimit` are called over FFI
 * (in-process: no helper binary such as `prlimit` to install, no other process to race); where FFI is not
 * allowed or not supported the limit is left as it is, and read from `/proc/self/limits` where permitted.
 */

export interface DescriptorLimit {
  soft: number;
  hard: number;
}

export type RaiseOutcome =
  /** `raisedFrom` is the soft limit before, when it was raised. */
  | { limit: DescriptorLimit; raisedFrom?: number; problem?: undefined }
  /** Could not raise: why, and the limit as far as it could be read. */
  | { limit?: DescriptorLimit; raisedFrom?: undefined; problem: string };

/** Descriptors a process holds besides its sockets: per worker its KV files, listeners, runtime. */
const DESCRIPTORS_PER_WORKER = 32;
const DESCRIPTORS_PER_PROCESS = 64;

/**
 * Descriptors a process needs to hold `maxConnections` sockets in each of its `workers`, with headroom for
 * what each worker holds besides sockets (measured idle: ~13 a worker and ~25 for the process).
 */
export function descriptorsNeeded(maxConnections: number, workers: number): number {
  return (maxConnections + DESCRIPTORS_PER_WORKER) * workers + DESCRIPTORS_PER_PROCESS;
}

/** RLIMIT_NOFILE's number where we know it: Linux on x86-64 and ARM64 (other Linux ports differ). */
function nofileResource(): number | undefined {
  const { os, arch } = Deno.build;
  return os === "linux" && (arch === "x86_64" || arch === "aarch64") ? 7 : undefined;
}

const toNumber = (value: bigint) => value > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(value);

/** Reads the limit from `/proc/self/limits` (Deno lets only `--allow-all` read it), or undefined. */
export function readDescriptorLimit(): DescriptorLimit | undefined {
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n").find((l) =>
      l.startsWith("Max open files")
    );
    const [soft, hard] = line?.slice("Max open files".length).trim().split(/\s+/) ?? [];
    const parse = (v?: string) => v === "unlimited" ? Infinity : Number(v);
    if (soft === undefined || hard === undefined) return undefined;
    return { soft: parse(soft), hard: parse(hard) };
  } catch {
    return undefined;
  }
}

/**
 * Raises the soft descriptor limit to the hard limit. Never throws: an outcome without `problem` holds the
 * limit now in force; one with `problem` says why nothing was changed (no `--allow-ffi`, another OS…), with the
 * limit read from `/proc` where possible.
 */
export function raiseDescriptorLimit(): RaiseOutcome {
  const resource = nofileResource();
  const fallback = (problem: string): RaiseOutcome => ({ problem, limit: readDescriptorLimit() });
  if (resource === undefined) return fallback(`not supported on ${Deno.build.os}/${Deno.build.arch}`);
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return fallback("calling setrlimit needs --allow-ffi");
  }
  let libc;
  try {
    libc = Deno.dlopen(
      "libc.so.6",
      {
        getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
        setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
      } as const,
    );
  } catch (error) {
    return fallback(`libc.so.6 could not be loaded (${error instanceof Error ? error.message : error})`);
  }
  try {
    // struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; }, two 64-bit words on these platforms.
    const limits = new BigUint64Array(2);
    const bytes = new Uint8Array(limits.buffer);
    if (libc.symbols.getrlimit(resource, bytes) !== 0) return fallback("getrlimit failed");
    const before = toNumber(limits[0]);
    if (limits[0] >= limits[1]) return { limit: { soft: before, hard: toNumber(limits[1]) } };
    limits[0] = limits[1];
    if (libc.symbols.setrlimit(resource, bytes) !== 0) return fallback("setrlimit failed");
    libc.symbols.getrlimit(resource, bytes);
    return { limit: { soft: toNumber(limits[0]), hard: toNumber(limits[1]) }, raisedFrom: before };
  } finally {
    libc.close();
  }
}
