/**
 * One isolate's queued claims and releases, taken together into one batch and decided at once: what the batch's
 * single KV commit must write. Pure: no KV here (lib/connection_places.ts reads and commits).
 */
import type { PlaceScope } from "./keys.ts";
import type { PlaceSubject } from "./place_subjects.ts";

export type ClaimResult = "ok" | "user_limit" | "ip_limit" | "busy";

/**
 * Subjects whose claims one commit may carry: each costs a check of its `claimed` count, and the holder one
 * more, within KV's 100 checks per atomic operation.
 */
export const CLAIM_SUBJECTS_PER_BATCH = 99;
/** Subjects one commit may touch in all: at most three mutations each, within KV's 1000 per atomic operation. */
export const SUBJECTS_PER_BATCH = 300;

export interface Batch<C extends { subjects: PlaceSubject[] }> {
  /** The subjects of each release taken, in queue order (a prefix of the queue). */
  releases: PlaceSubject[][];
  /** Claims taken, in arrival order (a prefix of the queue). */
  claims: C[];
  /** Every subject the batch touches, and those its claims touch (whose counts must be read). */
  subjects: Map<string, PlaceSubject>;
  claimSubjects: Map<string, PlaceSubject>;
}

/**
 * Takes the next batch from the front of the queues: a share of the releases first, so that a close storm cannot
 * hold a handshake back for long, then claims in arrival order, then more releases while there is room.
 */
export function takeBatch<C extends { subjects: PlaceSubject[] }>(
  releases: readonly PlaceSubject[][],
  claims: readonly C[],
): Batch<C> {
  const batch: Batch<C> = { releases: [], claims: [], subjects: new Map(), claimSubjects: new Map() };
  const fresh = (subjects: PlaceSubject[], seen: Map<string, PlaceSubject>) =>
    subjects.filter((s) => !seen.has(s.id)).length;
  const takeReleases = (room: number) => {
    while (batch.releases.length < releases.length) {
      const subjects = releases[batch.releases.length];
      if (batch.subjects.size + fresh(subjects, batch.subjects) > room) break;
      for (const s of subjects) batch.subjects.set(s.id, s);
      batch.releases.push(subjects);
    }
  };
  takeReleases(SUBJECTS_PER_BATCH / 2);
  for (const claim of claims) {
    if (batch.claimSubjects.size + fresh(claim.subjects, batch.claimSubjects) > CLAIM_SUBJECTS_PER_BATCH) {
      break;
    }
    if (batch.subjects.size + fresh(claim.subjects, batch.subjects) > SUBJECTS_PER_BATCH) break;
    for (const s of claim.subjects) {
      batch.subjects.set(s.id, s);
      batch.claimSubjects.set(s.id, s);
    }
    batch.claims.push(claim);
  }
  takeReleases(SUBJECTS_PER_BATCH);
  return batch;
}

/** What a batch changes for one subject: places newly claimed, or given back (never both). */
export interface SubjectChange {
  subject: PlaceSubject;
  claimed: number;
  released: number;
}

/**
 * Decides a batch against the places taken now (`taken`, read for each claim subject): releases count first, then
 * each claim in arrival order gets a place under every limit it is subject to, or none. A release and a claim of
 * one subject cancel out, so that subject needs no write at all.
 */
export function decideBatch<C extends { subjects: PlaceSubject[] }>(
  batch: Batch<C>,
  taken: (subject: PlaceSubject) => number,
  limits: Record<PlaceScope, number>,
): { verdicts: ClaimResult[]; changes: SubjectChange[] } {
  const net = new Map<string, number>();
  const add = (s: PlaceSubject, by: number) => net.set(s.id, (net.get(s.id) ?? 0) + by);
  for (const subjects of batch.releases) for (const s of subjects) add(s, -1);
  const verdicts = batch.claims.map((claim): ClaimResult => {
    const full = claim.subjects.find((s) => taken(s) + (net.get(s.id) ?? 0) >= limits[s.scope]);
    if (full) return full.scope === "user" ? "user_limit" : "ip_limit";
    for (const s of claim.subjects) add(s, 1);
    return "ok";
  });
  const changes: SubjectChange[] = [];
  for (const [id, by] of net) {
    if (by !== 0) {
      changes.push({
        subject: batch.subjects.get(id)!,
        claimed: Math.max(0, by),
        released: Math.max(0, -by),
      });
    }
  }
  return { verdicts, changes };
}
