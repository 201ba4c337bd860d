/**
 * One isolate's queued claims and releases, taken together into one batch and decided at once: what the batch's
 * single KV commit must write. Pure: no KV here (lib/connection_places.ts reads and commits).
 */
import type { PlaceSubject } from "./place_subjects.ts";

export type ClaimResult = "ok" | "user_limit" | "ip_limit" | "busy";

/**
 * Subjects whose claims one commit may carry: each costs a check of its `claimed` count, and the holder one
 * more, within KV's 100 checks per atomic operation.
 */
const CLAIM_SUBJECTS_PER_BATCH = 99;
/** Subjects one commit may touch in all: at most three mutations each, within KV's 1000 per atomic operation. */
const SUBJECTS_PER_BATCH = 300;

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

/** What a batch changes for one subject's counts: places newly claimed, or given back (never both). */
export interface SubjectChange {
  subject: PlaceSubject;
  claimed: number;
  released: number;
}

/** A subject's places in one batch: granted to its claims, and given back by its releases. */
export interface SubjectTally {
  subject: PlaceSubject;
  granted: number;
  released: number;
}

export interface BatchDecision {
  verdicts: ClaimResult[];
  /** For each claim refused, the subject whose limit was full; null for a claim granted. */
  full: (PlaceSubject | null)[];
  /** Every subject the batch touches, with what its claims were granted and its releases gave back. */
  tallies: Map<string, SubjectTally>;
}

/** How many of a batch's claims each subject is under: the most places the batch can grant it. */
export function demandOf<C extends { subjects: PlaceSubject[] }>(claims: readonly C[]): Map<string, number> {
  const demand = new Map<string, number>();
  for (const claim of claims) for (const s of claim.subjects) demand.set(s.id, (demand.get(s.id) ?? 0) + 1);
  return demand;
}

/**
 * Decides a batch: releases count first, then each claim in arrival order gets a place under every limit it is
 * subject to, or none. `room(subject)` is how many places the batch may grant under a subject it claims on,
 * before its releases: the places free (limit − taken, as read), plus those this isolate holds ahead.
 */
export function decideBatch<C extends { subjects: PlaceSubject[] }>(
  batch: Batch<C>,
  room: (subject: PlaceSubject) => number,
): BatchDecision {
  const tallies = new Map<string, SubjectTally>();
  const tally = (s: PlaceSubject) => {
    let t = tallies.get(s.id);
    if (!t) tallies.set(s.id, t = { subject: s, granted: 0, released: 0 });
    return t;
  };
  for (const subjects of batch.releases) for (const s of subjects) tally(s).released++;
  const rooms = new Map<string, number>();
  const roomOf = (s: PlaceSubject) => {
    if (!rooms.has(s.id)) rooms.set(s.id, room(s));
    return rooms.get(s.id)!;
  };
  const full: (PlaceSubject | null)[] = [];
  const verdicts = batch.claims.map((claim): ClaimResult => {
    const fullSubject = claim.subjects.find((s) => tally(s).granted - tally(s).released >= roomOf(s));
    full.push(fullSubject ?? null);
    if (fullSubject) return fullSubject.scope === "user" ? "user_limit" : "ip_limit";
    for (const s of claim.subjects) tally(s).granted++;
    return "ok";
  });
  return { verdicts, full, tallies };
}
