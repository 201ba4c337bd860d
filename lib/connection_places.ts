/**
 * Connection places: the per-user and per-IP limits, exact across isolates, at a KV cost per handshake and per
 * close that does not grow with the sockets held. (README, "Connection limits", says why this is correct.)
 *
 * Each limited subject (`user:<id>`, `ip:<address>`) has two counts shared by every isolate: places `claimed`
 * and places `released` (taken = claimed − released). Each isolate registers a holder, and keeps its share of
 * each subject's places in a holding under that holder; every commit changes a holding and the counts by the
 * same amount, so taken is always the sum of the holdings.
 * - A claim decides from both counts and commits with a check of `claimed`'s versionstamp: claims on one subject
 *   are serialised across isolates, and two isolates never both take its last place. A release landing
 *   meanwhile only frees a place, so a claim need not check `released`. A subject this isolate has not seen is
 *   not even read: its absence is checked (`lib/place_reads.ts`).
 * - During a burst under a high limit (thousands behind one address), an isolate takes places ahead in the same
 *   checked commit and hands them to its next handshakes with no read or check of that count
 *   (`lib/place_advances.ts`), so isolates stop conflicting on it.
 * - A release adds to `released` without any check on the counts: releases conflict with nothing, and a close
 *   storm lands in as few commits as it has batches.
 * - Every commit checks and rewrites this isolate's holder record (`lib/place_holders.ts`), which otherwise only
 *   a reclaimer changes (`lib/place_reclaim.ts`): an isolate taken for dead finds its places given back and
 *   gives up its sockets, never counting them twice; and the record's commit count tells whether a commit
 *   whose answer was lost landed.
 *
 * An isolate queues its claims and releases and commits them together (`lib/place_attempt.ts`): one round of
 * reads (two after a conflict no count read explains, `lib/place_reads.ts`) and ONE commit for as many handshakes and closes as arrived meanwhile. A commit that conflicts
 * or fails is decided again from fresh reads and retried: releases until they land, claims until their
 * handshake's deadline (then "busy").
 */
import type { IsolateDirectory } from "./isolates.ts";
import type { PlaceScope } from "./keys.ts";
import { backoffMs, type KvRetryPolicy } from "./kv.ts";
import { GET_MANY_KEYS } from "./kv_get_all.ts";
import type { Logger } from "./log.ts";
import { createAdvances, REFUSAL_WAIT_MS } from "./place_advances.ts";
import { attemptBatch, type Outcome, type PlaceBook } from "./place_attempt.ts";
import { type Batch, type ClaimResult, takeBatch } from "./place_batch.ts";
import { SUBJECTS_PER_TIDY, tidyPlaceCounts } from "./place_counts.ts";
import { deadHolders, type Holder, registerHolder, settleUnsure } from "./place_holders.ts";
import { createPlaceReads } from "./place_reads.ts";
import { reclaimHolder } from "./place_reclaim.ts";
import { type PlaceSubject, placeSubject } from "./place_subjects.ts";

export type { ClaimResult } from "./place_batch.ts";

export interface ConnectionPlacesOptions {
  isolateId: string;
  /** Places per user and per IP; 0 is no limit, and costs no KV work. */
  perUser: number;
  perIp: number;
  /** Whose heartbeats tell which holders are dead. */
  isolates: IsolateDirectory;
  log: Pick<Logger, "warn">;
  now?: () => number;
  /**
   * This isolate's places were given back by a janitor while it lived (it looked dead: no heartbeat for
   * ISOLATE_STALE_MS). Its admitted sockets no longer hold places, so they should be closed to claim again.
   */
  onLost?: () => void;
}

/**
 * Pauses between two attempts of a batch after its third conflict in a row (the first retries are immediate):
 * jittered, doubling from 8 ms, at most 250 ms. Never given up on by time: claims have their deadlines.
 */
const CONFLICT_BACKOFF: KvRetryPolicy = { budgetMs: Infinity, baseMs: 1, capMs: 250 };

interface Claim {
  connectionId: string;
  subjects: PlaceSubject[];
  deadline: number;
  resolve: (result: ClaimResult) => void;
  /** Released before its claim landed: the place, if granted, goes straight back. */
  cancelled: boolean;
  /** When a batch first found a limit full for it, if one did and its refusal waits (`settle`). */
  fullSince?: number;
}

/** Creates this isolate's side of the connection limits. Call `register()` after the isolate's first beat. */
export function createConnectionPlaces(kv: Deno.Kv, options: ConnectionPlacesOptions) {
  const { isolateId, log } = options;
  const now = options.now ?? Date.now;
  const limits: Record<PlaceScope, number> = { user: options.perUser, ip: options.perIp };
  const limited = limits.user > 0 || limits.ip > 0;

  let holder: Holder | null = null;
  const claims: Claim[] = [];
  const releases: PlaceSubject[][] = [];
  /** Claims refused once, to be decided again REFUSAL_WAIT_MS after (`settle`). */
  const deferred: Claim[] = [];
  const advances = createAdvances(limits, now);
  /** Wakes the queue when places held ahead fall due or a deferred claim is to be decided again. */
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Claims queued or in the commit in flight, by connection. */
  const claiming = new Map<string, Claim>();
  /** What each admitted socket holds (committed). */
  const held = new Map<string, PlaceSubject[]>();
  /** This holder's holdings as committed to KV: only this isolate writes them while its holder stands. */
  const holdings = new Map<string, number>();
  /** Subjects whose holding here dropped to 0: their counts may be idle, to be deleted. */
  const untidy = new Map<string, PlaceSubject>();
  let draining: Promise<void> | null = null;
  let sweeping: Promise<number> | null = null;
  let registering: Promise<void> | null = null;
  let closed = false;
  let wake: (() => void) | null = null;
  /** What the places cost so far, for the bench and tests: KV calls and outcomes. */
  const stats = { claims: 0, releases: 0, reads: 0, assumed: 0, commits: 0, conflicts: 0, failures: 0 };
  const reads = createPlaceReads(kv, stats);
  const book: PlaceBook = { limits, holdings, untidy, advances, reads, stats };

  /**
   * Writes a fresh holder record, under which claims and releases commit from then on. Call it after the
   * isolate's first heartbeat, or a janitor could take the new holder for a dead isolate's.
   */
  function register(): Promise<void> {
    if (!limited || holder) return Promise.resolve();
    registering ??= (async () => {
      holder = await registerHolder(kv, isolateId, now);
    })().finally(() => registering = null);
    return registering;
  }

  /** Sleeps up to `ms`, or until `close()`. */
  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }

  /** Deferred claims whose time came go back in the queue; those past their deadline, or released meanwhile, leave it. */
  function dropStaleClaims() {
    const t = now();
    const again = deferred.filter((claim) => claim.fullSince! + REFUSAL_WAIT_MS <= t);
    if (again.length) {
      claims.push(...again);
      deferred.splice(0, deferred.length, ...deferred.filter((claim) => !again.includes(claim)));
    }
    for (let i = claims.length - 1; i >= 0; i--) {
      const claim = claims[i];
      if (claim.cancelled || claim.deadline <= t) {
        claims.splice(i, 1);
        claiming.delete(claim.connectionId);
        claim.resolve("busy");
      }
    }
  }

  /** One attempt at the batch; once its work has landed, its claims are answered. */
  async function attempt(batch: Batch<Claim>): Promise<Outcome> {
    if (!holder) await register();
    return await attemptBatch(kv, book, holder!, batch, (verdicts, full) => {
      claims.splice(0, batch.claims.length);
      releases.splice(0, batch.releases.length);
      batch.claims.forEach((claim, i) => settle(claim, verdicts[i], full[i]));
    });
  }

  /**
   * Answers a claim its batch decided. A refusal under a limit high enough for places to be held ahead waits
   * REFUSAL_WAIT_MS and is decided once more (lib/place_advances.ts); the second answer stands.
   */
  function settle(claim: Claim, verdict: ClaimResult, full: PlaceSubject | null) {
    const t = now();
    const wait = full && !claim.cancelled && advances.possible(full) && claim.fullSince === undefined &&
      t + REFUSAL_WAIT_MS < claim.deadline;
    if (wait) {
      claim.fullSince = t;
      deferred.push(claim);
      return;
    }
    claiming.delete(claim.connectionId);
    if (verdict === "ok") {
      held.set(claim.connectionId, claim.subjects);
      // Released while its claim was in flight: give the place straight back.
      if (claim.cancelled) release(claim.connectionId);
    }
    claim.resolve(claim.cancelled && verdict === "ok" ? "busy" : verdict);
  }

  /** Deletes the counts of up to SUBJECTS_PER_TIDY subjects this isolate stopped holding, if no one holds them. */
  async function tidy(): Promise<Outcome> {
    const batch = [...untidy.values()].filter((s) => !holdings.has(s.id)).slice(0, SUBJECTS_PER_TIDY);
    for (const s of untidy.values()) if (holdings.has(s.id)) untidy.delete(s.id);
    for (const s of batch) untidy.delete(s.id);
    if (!batch.length) return "committed";
    stats.reads += Math.ceil((2 * batch.length) / GET_MANY_KEYS);
    stats.commits++;
    const retry = await tidyPlaceCounts(kv, batch).catch((error) => {
      for (const s of batch) untidy.set(s.id, s);
      throw error;
    });
    for (const s of retry) untidy.set(s.id, s);
    if (retry.length) stats.conflicts++;
    return retry.length ? "conflict" : "committed";
  }

  /** A janitor gave this isolate's places back: nothing it holds counts any more. */
  function lose() {
    log.warn("Connection places reclaimed while this isolate lived; its sockets must claim again", {
      sockets: held.size,
    });
    holder = null;
    holdings.clear();
    held.clear();
    reads.settled();
    advances.clear();
    releases.length = 0;
    for (const claim of [...claims.splice(0), ...deferred.splice(0)]) claim.resolve("busy");
    claiming.clear();
    options.onLost?.();
  }

  /** Commits queued work batch by batch until none is left; never gives a release up. */
  async function drain() {
    let failures = 0;
    while (!closed) {
      // A commit whose answer was lost is settled first: its claims stay queued until it is known to have landed.
      const unsure = holder?.unsure ? holder : null;
      if (!unsure) dropStaleClaims();
      const work = claims.length > 0 || releases.length > 0 || advances.due(1).length > 0;
      // Tidying waits for a quiet moment, or for enough subjects to fill a commit.
      const tidying = untidy.size > 0 && (!work || untidy.size >= SUBJECTS_PER_TIDY);
      if (!unsure && !work && !tidying) return;
      let outcome: Outcome | "failed";
      try {
        outcome = unsure
          ? (await settleUnsure(kv, unsure) === "lost" ? "lost" : "committed")
          : tidying
          ? await tidy()
          : await attempt(takeBatch(releases, claims));
      } catch (error) {
        if (closed) return;
        stats.failures++;
        if (failures === 0) log.warn("Connection places not committed yet; retrying", { error });
        outcome = "failed";
      }
      if (outcome === "lost") lose();
      if (outcome === "committed" || outcome === "lost") {
        failures = 0;
        continue;
      }
      // A conflict means another isolate just claimed on a shared count: decide again at once from fresh reads,
      // and back off (with jitter, so isolates fall out of step) only if it keeps happening.
      failures++;
      if (failures > 2) await pause(backoffMs(failures + 1, CONFLICT_BACKOFF));
    }
  }

  function kick() {
    draining ??= drain().finally(() => {
      draining = null;
      if (closed) return;
      if (claims.length || releases.length) return kick();
      // Nothing to do now: wake when places held ahead fall due or a deferred claim is to be decided again.
      const at = Math.min(
        advances.nextDue() ?? Infinity,
        ...deferred.map((c) => c.fullSince! + REFUSAL_WAIT_MS),
      );
      clearTimeout(timer);
      if (at < Infinity) timer = setTimeout(kick, Math.max(0, at - now()));
    });
  }

  /**
   * Takes a place for this socket under its user's and its IP's limits (0 means no limit), or says which limit
   * is full. "busy" when no answer could be had by `deadline` (KV contended or failing): refuse the handshake,
   * the client tries again later. A granted place is held until `release(connectionId)`.
   */
  async function claim(
    connectionId: string,
    userId: string,
    ip: string,
    deadline: number,
  ): Promise<ClaimResult> {
    if (!limited) return "ok";
    if (closed) return "busy";
    stats.claims++;
    // Known at once, so that a release arriving while the subjects are worked out withdraws it.
    const claim: Claim = { connectionId, subjects: [], deadline, resolve: () => {}, cancelled: false };
    claiming.set(connectionId, claim);
    claim.subjects = await Promise.all([
      ...(limits.user > 0 ? [placeSubject("user", userId)] : []),
      ...(limits.ip > 0 ? [placeSubject("ip", ip)] : []),
    ]);
    return await new Promise<ClaimResult>((resolve) => {
      claim.resolve = resolve;
      if (claim.cancelled || closed) {
        claiming.delete(connectionId);
        resolve("busy");
        return;
      }
      claims.push(claim);
      kick();
    });
  }

  /**
   * Gives back this socket's places (a no-op for one that holds none, or already gave them back). It is queued
   * and retried until it lands, never given up on while the isolate runs; `settled()` awaits it.
   */
  function release(connectionId: string): void {
    if (!limited || closed) return;
    const pending = claiming.get(connectionId);
    if (pending) {
      pending.cancelled = true;
      return;
    }
    const subjects = held.get(connectionId);
    if (!subjects) return;
    held.delete(connectionId);
    stats.releases++;
    releases.push(subjects);
    kick();
  }

  /** Resolves once every claim and release queued so far has landed (or, for a claim, been refused). */
  async function settled(): Promise<void> {
    if (untidy.size) kick();
    while (draining) await draining;
  }

  /**
   * The janitor's round (once a second on every isolate): gives back the places of every dead isolate's holder,
   * and resolves with how many holders it found dead. A round still running makes the next one a no-op.
   */
  function reclaimDead(deadlineMs = 5000): Promise<number> {
    if (!limited || closed || sweeping) return Promise.resolve(0);
    sweeping = (async () => {
      const dead = await deadHolders(kv, options.isolates, holder?.id ?? null);
      const deadline = now() + deadlineMs;
      for (const id of dead) await reclaimHolder(kv, id, { deadline, now });
      return dead.length;
    })().finally(() => sweeping = null);
    return sweeping;
  }

  /**
   * Stops taking claims and gives back every place this isolate holds (graceful shutdown), within `deadlineMs`;
   * what is left then is reclaimed by another isolate's janitor once this one's heartbeat record is gone.
   */
  async function close(deadlineMs = 2000): Promise<void> {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    wake?.();
    await Promise.all([draining, sweeping?.catch(() => 0)]);
    for (const claim of [...claims.splice(0), ...deferred.splice(0)]) claim.resolve("busy");
    const own = holder;
    holder = null;
    const deadline = now() + deadlineMs;
    const idle = [...untidy.values()];
    for (let i = 0; i < idle.length && now() < deadline; i += SUBJECTS_PER_TIDY) {
      await tidyPlaceCounts(kv, idle.slice(i, i + SUBJECTS_PER_TIDY)).catch(() => []);
    }
    if (own) await reclaimHolder(kv, own.id, { deadline, now }).catch(() => false);
  }

  return {
    register,
    claim,
    release,
    settled,
    reclaimDead,
    close,
    /** This isolate's holder id (null before `register()`), for tests and the janitor. */
    holderId: () => holder?.id ?? null,
    /** Sockets holding places here (committed). */
    heldCount: () => held.size,
    /** Claims and releases taken, `getMany` calls, commits, conflicts and failed attempts so far. */
    stats: () => ({ ...stats }),
  };
}

export type ConnectionPlaces = ReturnType<typeof createConnectionPlaces>;
