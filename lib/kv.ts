/**
 * Opening Deno KV once, and the retry policy every KV call goes through. Several isolates or processes sharing
 * one SQLite file contend for its write lock: a commit that loses answers "database is locked" at once (SQLite
 * does not wait when the writer's snapshot is stale) or after SQLite's own busy wait, and a versionstamp
 * check that loses answers `ok: false`. Both mean "someone else wrote first": the caller backs off with full
 * jitter over an exponentially growing window and tries again, for as long as its time budget lasts rather
 * than a fixed number of attempts, so sustained contention slows a write down but does not fail it.
 */
export async function openKv(path: string): Promise<Deno.Kv> {
  if (path !== ":memory:" && !/^https?:/.test(path)) {
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    if (dir) await Deno.mkdir(dir, { recursive: true });
  }
  return await withKvRetry(() => Deno.openKv(path));
}

/** How long KV calls keep retrying, and how their pauses grow. */
export interface KvRetryPolicy {
  /** Time after the first attempt past which no new attempt starts: the call then fails (a 503 upstream). */
  budgetMs: number;
  /** The first pause is drawn from [0, baseMs); each further one from a window twice as wide… */
  baseMs: number;
  /** …up to this width. */
  capMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
  random?: () => number;
}

/**
 * The service's policy. The budget covers SQLite's own 5 s busy wait twice over and long bursts of contention
 * (eight handles appending 800 notifications to one stream at once finish in seconds: lib/kv_test.ts), yet
 * stays within a webhook sender's usual timeout; the cap keeps losers from hammering the lock while one of
 * them writes.
 */
export const KV_RETRY: KvRetryPolicy = { budgetMs: 15_000, baseMs: 4, capMs: 500 };

const TRANSIENT = /database is locked|busy|SQLITE_BUSY/i;

/** Whether a KV error means "the database is busy right now" (worth retrying) rather than a failure. */
function isKvBusy(error: unknown): boolean {
  return TRANSIENT.test(String(error));
}

/** The pause before retry `attempt` (1 for the first retry): uniform in [0, min(cap, base × 2^(attempt−1))). */
export function backoffMs(attempt: number, policy: KvRetryPolicy = KV_RETRY): number {
  const window = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt - 1, 30));
  return (policy.random ?? Math.random)() * window;
}

type Attempt<T> = { value: T } | { retry: unknown };

/** The shared loop: calls `attempt` until it returns a value, pausing between tries, within the budget. */
async function retrying<T>(
  policy: KvRetryPolicy,
  attempt: () => Promise<Attempt<T>>,
  giveUp: (last: unknown, tries: number, ms: number) => Error,
): Promise<T> {
  const now = policy.now ?? Date.now;
  const sleep = policy.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  const started = now();
  for (let tries = 1;; tries++) {
    const outcome = await attempt();
    if ("value" in outcome) return outcome.value;
    const pause = backoffMs(tries, policy);
    if (now() + pause - started > policy.budgetMs) throw giveUp(outcome.retry, tries, now() - started);
    await sleep(pause);
  }
}

/**
 * Runs a KV operation, retrying while SQLite reports the database as busy or locked. Any other error is
 * thrown at once; a lock that outlasts the policy's budget ends in a `KvUnavailableError` (its `cause` the
 * last lock error).
 */
export function withKvRetry<T>(operation: () => Promise<T>, policy: KvRetryPolicy = KV_RETRY): Promise<T> {
  return retrying<T>(
    policy,
    async (): Promise<Attempt<T>> => {
      try {
        return { value: await operation() };
      } catch (error) {
        if (!isKvBusy(error)) throw error;
        return { retry: error };
      }
    },
    (last, tries, ms) =>
      new KvUnavailableError(`KV stayed locked for ${ms} ms (${tries} tries); gave up`, last),
  );
}

/**
 * What `build` decided: an operation to commit, whose `result` is returned once it commits (and
 * `committed` told its versionstamp), or `done`, an answer that needs no write.
 */
export type CommitPlan<T> =
  | { op: Deno.AtomicOperation; result: T; committed?: (versionstamp: string) => void }
  | { done: T };

/**
 * Commits an atomic operation built by `build`, building it afresh after each lost race: a failed check
 * (`ok: false`) or a busy/locked error from the reads or the commit. A locked commit wrote nothing (SQLite
 * commits whole or not at all), and whoever held the lock has probably moved what the plan checked, so the
 * plan is rebuilt from fresh reads rather than committed again. Gives up with a `KvUnavailableError` only
 * when the policy's time budget is spent; any other error is thrown at once.
 */
export function commitWithRetry<T>(
  build: () => Promise<CommitPlan<T>>,
  policy: KvRetryPolicy = KV_RETRY,
): Promise<T> {
  return retrying<T>(
    policy,
    async (): Promise<Attempt<T>> => {
      try {
        const plan = await build();
        if ("done" in plan) return { value: plan.done };
        const commit = await plan.op.commit();
        if (!commit.ok) return { retry: "conflict" };
        plan.committed?.(commit.versionstamp);
        return { value: plan.result };
      } catch (error) {
        if (!isKvBusy(error)) throw error;
        return { retry: error };
      }
    },
    (last, tries, ms) =>
      new KvUnavailableError(`KV write kept losing races for ${ms} ms (${tries} tries); gave up`, last),
  );
}

/** The store could not be read or written; answered 503, and nothing of the request was committed. */
export class KvUnavailableError extends Error {
  override name = "KvUnavailableError";
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined || typeof cause === "string" ? undefined : { cause });
  }
}

const STORE_FAILURE = /database|sqlite|disk i\/o|bad resource id/i;

/**
 * True for errors that mean KV itself failed (a closed handle, SQLite I/O, a full disk, endless conflicts)
 * rather than the request: the caller may retry the same request later.
 */
export function isKvFailure(error: unknown): boolean {
  return error instanceof KvUnavailableError || (error instanceof Error && STORE_FAILURE.test(error.message));
}
