/**
 * Connection places: the per-user and per-IP limits, exact across isolates, at a KV cost per handshake and per
 * close that does not grow with the sockets held.
 *
 * Each limited subject (`user:<id>`, `ip:<address>`) has one place count shared by every isolate. Each isolate
 * registers a holder, and keeps its share of each subject's places in a holding under that holder. The count is
 * always the sum of the holdings: every change to a holding changes the count by as much in the same atomic
 * commit, and that commit checks the versionstamp of the count it read. So all operations on one subject are
 * serialised across isolates, and two isolates never both take its last place.
 *
 * An isolate queues its claims and releases and commits them together: one round of reads and ONE commit for as
 * many handshakes and closes as arrived meanwhile (within KV's 100 checks per atomic operation). In a batch,
 * releases count before claims, and claims are granted in arrival order up to the limits. A conflicting or
 * locked commit is read again and retried: releases until they land, claims until their handshake's deadline
 * (then refused 1013). Every commit also checks this isolate's holder record, which only a reclaimer changes
 * (`lib/place_reclaim.ts`): an isolate taken for dead finds its places given back, and lets its sockets go.
 */
import type { IsolateDirectory } from "./isolates.ts";
import { placeHolderKey, placeHoldingKey, type PlaceScope } from "./keys.ts";
import { withKvRetry } from "./kv.ts";
import { GET_MANY_KEYS, getAll } from "./kv_get_all.ts";
import type { Logger } from "./log.ts";
import { deadHolders, placeCount, type PlaceHolder, reclaimHolder } from "./place_reclaim.ts";
import { type PlaceSubject, placeSubject } from "./place_subjects.ts";

export type ClaimResult = "ok" | "user_limit" | "ip_limit" | "busy";

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

/** Subjects per commit: each costs one check, and the holder one more, within KV's 100 checks. */
const SUBJECTS_PER_COMMIT = 99;
/** Longest pause between two attempts of a batch; the first retries after a conflict are immediate. */
const MAX_BACKOFF_MS = 250;

interface Claim {
  connectionId: string;
  subjects: PlaceSubject[];
  deadline: number;
  resolve: (result: ClaimResult) => void;
  /** Released before its claim landed: the place, if granted, goes straight back. */
  cancelled: boolean;
}

interface Batch {
  releases: PlaceSubject[][];
  claims: Claim[];
  subjects: Map<string, PlaceSubject>;
}

/** Creates this isolate's side of the connection limits. Call `register()` after the isolate's first beat. */
export function createConnectionPlaces(kv: Deno.Kv, options: ConnectionPlacesOptions) {
  const { isolateId, log } = options;
  const now = options.now ?? Date.now;
  const limits: Record<PlaceScope, number> = { user: options.perUser, ip: options.perIp };
  const limited = limits.user > 0 || limits.ip > 0;

  let holder: { id: string; versionstamp: string } | null = null;
  const claims: Claim[] = [];
  const releases: PlaceSubject[][] = [];
  /** Claims queued or in the commit in flight, by connection. */
  const claiming = new Map<string, Claim>();
  /** What each admitted socket holds (committed). */
  const held = new Map<string, PlaceSubject[]>();
  /** This holder's holdings as committed to KV: only this isolate writes them while its holder stands. */
  const holdings = new Map<string, number>();
  let draining: Promise<void> | null = null;
  let closed = false;
  let wake: (() => void) | null = null;
  let registering: Promise<void> | null = null;
  /** What the places cost so far, for the bench and tests: KV calls and outcomes. */
  const stats = { claims: 0, releases: 0, reads: 0, commits: 0, conflicts: 0, failures: 0 };

  /**
   * Writes a fresh holder record, under which claims and releases commit from then on. Call it after the
   * isolate's first heartbeat, or a janitor could take the new holder for a dead isolate's.
   */
  function register(): Promise<void> {
    if (!limited || holder) return Promise.resolve();
    registering ??= (async () => {
      const id = crypto.randomUUID();
      const record: PlaceHolder = { isolateId, registeredAt: now(), reclaiming: false };
      const key = placeHolderKey(id);
      const commit = await withKvRetry(() =>
        kv.atomic().check({ key, versionstamp: null }).set(key, record).commit()
      );
      if (!commit.ok) throw new Error("A fresh place holder id was already taken");
      holder = { id, versionstamp: commit.versionstamp };
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

  /** The next batch: a share of the queued releases, then claims in arrival order, then more releases. */
  function nextBatch(): Batch {
    const batch: Batch = { releases: [], claims: [], subjects: new Map() };
    const fits = (subjects: PlaceSubject[]) =>
      batch.subjects.size + subjects.filter((s) => !batch.subjects.has(s.id)).length <= SUBJECTS_PER_COMMIT;
    const add = (subjects: PlaceSubject[]) => {
      for (const s of subjects) batch.subjects.set(s.id, s);
    };
    const takeReleases = (upTo: number) => {
      while (batch.releases.length < releases.length && batch.subjects.size < upTo) {
        const subjects = releases[batch.releases.length];
        if (!fits(subjects)) break;
        add(subjects);
        batch.releases.push(subjects);
      }
    };
    // Half the room goes to releases first, so a close storm cannot hold a handshake back for long.
    takeReleases(SUBJECTS_PER_COMMIT / 2);
    for (const claim of claims) {
      if (!fits(claim.subjects)) break;
      add(claim.subjects);
      batch.claims.push(claim);
    }
    takeReleases(SUBJECTS_PER_COMMIT);
    return batch;
  }

  /** Claims past their deadline, or released meanwhile, leave the queue without a place. */
  function dropStaleClaims() {
    const t = now();
    for (let i = claims.length - 1; i >= 0; i--) {
      const claim = claims[i];
      if (claim.cancelled || claim.deadline <= t) {
        claims.splice(i, 1);
        claiming.delete(claim.connectionId);
        claim.resolve("busy");
      }
    }
  }

  /** One attempt at a batch: read its counts, decide, commit. */
  async function attempt(batch: Batch): Promise<"committed" | "conflict" | "lost"> {
    if (!holder) await register();
    const own = holder!;
    const subjects = [...batch.subjects.values()];
    const keys = [placeHolderKey(own.id), ...subjects.map((s) => s.countKey)];
    stats.reads += Math.ceil(keys.length / GET_MANY_KEYS);
    const [holderEntry, ...counts] = await getAll<number>(kv, keys);
    if (holderEntry.versionstamp !== own.versionstamp) return "lost";

    const entryOf = new Map(subjects.map((s, i) => [s.id, counts[i]]));
    const delta = new Map<string, number>();
    const change = (s: PlaceSubject, by: number) => delta.set(s.id, (delta.get(s.id) ?? 0) + by);
    for (const subjects of batch.releases) for (const s of subjects) change(s, -1);
    const verdicts = batch.claims.map((claim): ClaimResult => {
      const full = claim.subjects.find((s) =>
        placeCount(entryOf.get(s.id)!) + (delta.get(s.id) ?? 0) >= limits[s.scope]
      );
      if (full) return full.scope === "user" ? "user_limit" : "ip_limit";
      for (const s of claim.subjects) change(s, 1);
      return "ok";
    });

    const op = kv.atomic().check({ key: placeHolderKey(own.id), versionstamp: own.versionstamp });
    let writes = 0;
    for (const [id, by] of delta) {
      // A release and a claim that cancel out change nothing anywhere: no write, and no check to conflict on.
      if (by === 0) continue;
      const subject = batch.subjects.get(id)!;
      const entry = entryOf.get(id)!;
      const count = placeCount(entry) + by;
      const share = (holdings.get(id) ?? 0) + by;
      const holdingKey = placeHoldingKey(own.id, subject.scope, subject.part);
      op.check(entry);
      if (count > 0) op.set(subject.countKey, count);
      else op.delete(subject.countKey);
      if (share > 0) op.set(holdingKey, share);
      else op.delete(holdingKey);
      writes++;
    }
    // Refusals alone write nothing: each was true of the count when it was read.
    if (writes) {
      stats.commits++;
      const commit = await withKvRetry(() => op.commit());
      if (!commit.ok) {
        stats.conflicts++;
        return "conflict";
      }
    }

    for (const [id, by] of delta) {
      const share = (holdings.get(id) ?? 0) + by;
      if (share > 0) holdings.set(id, share);
      else holdings.delete(id);
    }
    claims.splice(0, batch.claims.length);
    releases.splice(0, batch.releases.length);
    batch.claims.forEach((claim, i) => {
      claiming.delete(claim.connectionId);
      if (verdicts[i] === "ok") {
        held.set(claim.connectionId, claim.subjects);
        // Released while its claim was in flight: give the place straight back.
        if (claim.cancelled) release(claim.connectionId);
      }
      claim.resolve(claim.cancelled && verdicts[i] === "ok" ? "busy" : verdicts[i]);
    });
    return "committed";
  }

  /** A janitor gave this isolate's places back: nothing it holds counts any more. */
  function lose() {
    log.warn("Connection places reclaimed while this isolate lived; its sockets must claim again", {
      sockets: held.size,
    });
    holder = null;
    holdings.clear();
    held.clear();
    releases.length = 0;
    for (const claim of claims.splice(0)) claim.resolve("busy");
    claiming.clear();
    options.onLost?.();
  }

  /** Commits queued work batch by batch until none is left; never gives a release up. */
  async function drain() {
    let failures = 0;
    while (!closed) {
      dropStaleClaims();
      if (!claims.length && !releases.length) return;
      const batch = nextBatch();
      let outcome: "committed" | "conflict" | "lost" | "failed";
      try {
        outcome = await attempt(batch);
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
      // A conflict means another isolate just committed on a shared count: read again at once, and back off
      // (with jitter, so isolates fall out of step) only if it keeps happening.
      failures++;
      if (failures > 2) await pause(Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** failures));
    }
  }

  function kick() {
    draining ??= drain().finally(() => {
      draining = null;
      if (!closed && (claims.length || releases.length)) kick();
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
    // Known at once, so that a release arriving while the subjects are worked out withdraws it.
    stats.claims++;
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
    while (draining) await draining;
  }

  let sweeping: Promise<number> | null = null;

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
    wake?.();
    await Promise.all([draining, sweeping?.catch(() => 0)]);
    for (const claim of claims.splice(0)) claim.resolve("busy");
    const own = holder;
    holder = null;
    if (own) await reclaimHolder(kv, own.id, { deadline: now() + deadlineMs, now }).catch(() => false);
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
