/**
 * Giving back the connection places of a holder that can no longer give them back itself: an isolate that
 * crashed (its heartbeat stopped), or one shutting down. Every isolate runs the janitor once a second; two
 * janitors reclaiming the same holder give each holding back once, because every step checks what it read.
 *
 * Reclaiming runs in three steps, each safe to repeat or to interrupt (a janitor may crash half-way):
 * 1. the holder is marked `reclaiming`. Its owner checks the holder's versionstamp in every commit, so from here
 *    on its own writes fail and only reclaimers touch its holdings (an owner that is alive after all finds out,
 *    see `lib/connection_places.ts`);
 * 2. its holdings go, a chunk at a time: each holding is deleted and added to its subject's `released` count in
 *    one commit that checks the holding (so a second reclaimer adds nothing);
 * 3. the holder record goes once no holding is left, and the counts of subjects left with no place taken go too.
 */
import { placeHolderKey, placeHoldingsPrefix } from "./keys.ts";
import { backoffMs, type KvRetryPolicy, withKvRetry } from "./kv.ts";
import { SUBJECTS_PER_TIDY, tidyPlaceCounts } from "./place_counts.ts";
import type { PlaceHolder } from "./place_holders.ts";
import { type PlaceSubject, subjectOfHolding } from "./place_subjects.ts";

/** One check (the holding) per holding, within KV's 100 checks per atomic operation. */
const HOLDINGS_PER_COMMIT = 100;

/** A holding as stored; anything else (absent) is 0. */
const holdingOf = (entry: Deno.KvEntryMaybe<unknown>): number =>
  typeof entry.value === "number" ? entry.value : 0;

export interface ReclaimOptions {
  /** Give up (resolve false) once `now()` passes this; the next janitor round carries on. */
  deadline: number;
  now?: () => number;
}

/** Pauses after a reclaim's conflicting commit: jittered, doubling from 5 ms, at most 100 ms; the deadline ends it. */
const RECLAIM_BACKOFF: KvRetryPolicy = { budgetMs: Infinity, baseMs: 5, capMs: 100 };

/**
 * Gives back every place `holderId` holds and forgets the holder. True once done (or already done by someone
 * else); false when its deadline passed first. Safe to run on several isolates at once.
 */
export async function reclaimHolder(
  kv: Deno.Kv,
  holderId: string,
  options: ReclaimOptions,
): Promise<boolean> {
  const now = options.now ?? Date.now;
  let failures = 0;
  const backOff = async () => {
    if (now() >= options.deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, backoffMs(++failures, RECLAIM_BACKOFF)));
    return true;
  };

  let marked: Deno.KvEntry<PlaceHolder> | undefined;
  while (!marked) {
    const entry = await withKvRetry(() => kv.get<PlaceHolder>(placeHolderKey(holderId)));
    // No holder: its last reclaimer removed it after its last holding (step 3 comes after step 2).
    if (entry.versionstamp === null) return true;
    if (entry.value.reclaiming) {
      marked = entry;
      break;
    }
    const value = { ...entry.value, reclaiming: true };
    const commit = await withKvRetry(() => kv.atomic().check(entry).set(entry.key, value).commit());
    if (commit.ok) marked = { key: entry.key, value, versionstamp: commit.versionstamp };
    else if (!(await backOff())) return false;
  }

  const emptied = new Map<string, PlaceSubject>();
  for (;;) {
    const holdings = await withKvRetry(async () => {
      const out: Deno.KvEntry<number>[] = [];
      const list = kv.list<number>({ prefix: placeHoldingsPrefix(holderId) }, { limit: HOLDINGS_PER_COMMIT });
      for await (const entry of list) out.push(entry);
      return out;
    });
    if (!holdings.length) break;
    const op = kv.atomic();
    const subjects = holdings.map((holding) => {
      const subject = subjectOfHolding(holding.key);
      op.check(holding).delete(holding.key).sum(
        subject.releasedKey,
        BigInt(holdingOf(holding)),
      );
      return subject;
    });
    const commit = await withKvRetry(() => op.commit());
    if (commit.ok) { for (const s of subjects) emptied.set(s.id, s); }
    else if (!(await backOff())) return false;
  }

  let untidy = [...emptied.values()];
  while (untidy.length) {
    const retry: PlaceSubject[] = [];
    for (let i = 0; i < untidy.length; i += SUBJECTS_PER_TIDY) {
      retry.push(...await tidyPlaceCounts(kv, untidy.slice(i, i + SUBJECTS_PER_TIDY)));
    }
    untidy = retry;
    if (untidy.length && !(await backOff())) return false;
  }

  // Fails harmlessly when another reclaimer removed it first.
  await withKvRetry(() => kv.atomic().check(marked).delete(marked.key).commit());
  return true;
}
