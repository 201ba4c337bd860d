/**
 * Opening Deno KV once, and retrying the transient "database is locked" that several `--parallel` workers
 * sharing one SQLite file can hit: a worker retries, it never crashes.
 */
export async function openKv(path: string): Promise<Deno.Kv> {
  if (path !== ":memory:" && !/^https?:/.test(path)) {
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    if (dir) await Deno.mkdir(dir, { recursive: true });
  }
  return await withKvRetry(() => Deno.openKv(path));
}

const TRANSIENT = /database is locked|busy|SQLITE_BUSY/i;

/** Runs a KV operation, retrying with a short back-off while SQLite reports the database as locked. */
export async function withKvRetry<T>(operation: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || !TRANSIENT.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
    }
  }
}

/**
 * What `build` decided: an operation to commit, whose `result` is returned once it commits (and
 * `committed` told its versionstamp), or `done`, an answer that needs no write.
 */
export type CommitPlan<T> =
  | { op: Deno.AtomicOperation; result: T; committed?: (versionstamp: string) => void }
  | { done: T };

/** Commits an atomic operation built by `build`, re-reading and retrying until its checks pass. */
export async function commitWithRetry<T>(
  build: () => Promise<CommitPlan<T>>,
  attempts = 64,
): Promise<T> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const plan = await withKvRetry(build);
    if ("done" in plan) return plan.done;
    const commit = await withKvRetry(() => plan.op.commit());
    if (commit.ok) {
      plan.committed?.(commit.versionstamp);
      return plan.result;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, attempt * 2)));
  }
  throw new KvUnavailableError("KV write kept conflicting; gave up");
}

/** The store could not be read or written; answered 503, and nothing of the request was committed. */
export class KvUnavailableError extends Error {
  override name = "KvUnavailableError";
}

const STORE_FAILURE = /database|sqlite|disk i\/o|bad resource id/i;

/**
 * True for errors that mean KV itself failed (a closed handle, SQLite I/O, a full disk, endless conflicts)
 * rather than the request: the caller may retry the same request later.
 */
export function isKvFailure(error: unknown): boolean {
  return error instanceof KvUnavailableError || (error instanceof Error && STORE_FAILURE.test(error.message));
}
