/**
 * One attempt at a batch of claims and releases (lib/place_batch.ts): read what its claims need, decide them,
 * plan each subject's change (places held ahead first, lib/place_advances.ts), and commit it all at once under
 * this isolate's holder. Every commit checks and rewrites the holder record, so nothing lands, not even a
 * place handed out from those held ahead, once the holder was reclaimed; and every `claimed` count it raises
 * is checked at the versionstamp it was read (or found absent) at, so two isolates never both take a last place.
 */
import { placeHolderKey, placeHoldingKey, type PlaceScope } from "./keys.ts";
import { withKvRetry } from "./kv.ts";
import type { Advances } from "./place_advances.ts";
import { type Batch, type ClaimResult, decideBatch, demandOf } from "./place_batch.ts";
import { countOf, placesTaken } from "./place_counts.ts";
import type { Holder, PlaceHolder } from "./place_holders.ts";
import type { PlaceReads } from "./place_reads.ts";
import type { PlaceSubject } from "./place_subjects.ts";

/** Subjects whose places held ahead one batch gives back, besides those it touches anyway. */
const ADVANCE_RETURNS_PER_BATCH = 10;

export type Outcome = "committed" | "conflict" | "lost";

/** One isolate's bookkeeping of its places, as committed: each attempt reads it and, once landed, updates it. */
export interface PlaceBook {
  limits: Record<PlaceScope, number>;
  /** This holder's share of each subject's places: only this isolate writes them while its holder stands. */
  holdings: Map<string, number>;
  /** Subjects whose holding here dropped to 0: their counts may be idle, to be deleted. */
  untidy: Map<string, PlaceSubject>;
  advances: Advances;
  reads: PlaceReads;
  stats: { commits: number; conflicts: number };
}

/**
 * Attempts `batch` under `own`. "committed": its work landed (or needed no write), the book is updated and
 * `landed` told each claim's verdict (and, when refused, the subject that was full). "conflict": a count moved
 * since it was read; decide again. "lost": the holder was reclaimed. A commit that throws leaves `own.unsure`
 * set, to be settled (lib/place_holders.ts) before anything else.
 */
export async function attemptBatch<C extends { subjects: PlaceSubject[] }>(
  kv: Deno.Kv,
  book: PlaceBook,
  own: Holder,
  batch: Batch<C>,
  landed: (verdicts: ClaimResult[], full: (PlaceSubject | null)[]) => void,
): Promise<Outcome> {
  const { limits, holdings, untidy, advances, reads, stats } = book;
  const holderKey = placeHolderKey(own.id);
  // Only claims decide from the counts, and only on subjects whose places held ahead cannot cover them.
  const demand = demandOf(batch.claims);
  const uncovered = [...batch.claimSubjects.values()].filter((s) =>
    advances.places(s.id) < demand.get(s.id)!
  );
  const read = uncovered.length
    ? await reads.read(own, uncovered, (s) => holdings.has(s.id) || untidy.has(s.id))
    : null;
  if (read?.holder && read.holder.versionstamp !== own.versionstamp) return "lost";
  const takenOf = (s: PlaceSubject) => {
    const counts = read?.counts.get(s.id);
    return counts ? placesTaken(...counts) : null;
  };
  const { verdicts, full, tallies } = decideBatch(batch, (s) => {
    const taken = takenOf(s);
    return advances.places(s.id) + (taken === null ? 0 : limits[s.scope] - taken);
  });
  const returning = new Set<string>();
  for (const subject of advances.due(ADVANCE_RETURNS_PER_BATCH)) {
    returning.add(subject.id);
    if (!tallies.has(subject.id)) tallies.set(subject.id, { subject, granted: 0, released: 0 });
  }
  const plans = [...tallies.values()].map((t) =>
    advances.plan(t, takenOf(t.subject), returning.has(t.subject.id))
  );
  const changes = plans.filter((p) => p.claimed || p.released);
  const shareAfter = (p: { subject: PlaceSubject; claimed: number; released: number }) =>
    (holdings.get(p.subject.id) ?? 0) + p.claimed - p.released;

  const next: PlaceHolder = { ...own.record, commits: own.record.commits + 1 };
  const finish = (versionstamp: string | null) => {
    if (versionstamp) {
      own.versionstamp = versionstamp;
      own.record = next;
    }
    for (const change of changes) {
      const share = shareAfter(change);
      if (share > 0) {
        holdings.set(change.subject.id, share);
        reads.held(change.subject);
      } else {
        holdings.delete(change.subject.id);
        untidy.set(change.subject.id, change.subject);
      }
    }
    advances.apply(plans);
    landed(verdicts, full);
  };
  // Refusals alone write nothing: each was true of the counts when they were read.
  if (!changes.length && !verdicts.includes("ok")) {
    reads.settled();
    finish(null);
    return "committed";
  }

  const op = kv.atomic().check({ key: holderKey, versionstamp: own.versionstamp }).set(holderKey, next);
  const checked: PlaceSubject[] = [];
  for (const change of changes) {
    const { subject, claimed, released } = change;
    if (claimed) {
      const [entry] = read!.counts.get(subject.id)!;
      op.check(entry).set(subject.claimedKey, new Deno.KvU64(countOf(entry) + BigInt(claimed)));
      checked.push(subject);
    }
    if (released) op.sum(subject.releasedKey, BigInt(released));
    const holdingKey = placeHoldingKey(own.id, subject.scope, subject.part);
    const share = shareAfter(change);
    if (share > 0) op.set(holdingKey, share);
    else op.delete(holdingKey);
  }
  stats.commits++;
  let commit: Deno.KvCommitResult | Deno.KvCommitError;
  try {
    commit = await withKvRetry(() => op.commit());
  } catch (error) {
    own.unsure = { commits: next.commits, finish };
    throw error;
  }
  if (!commit.ok) {
    stats.conflicts++;
    // Only the holder was checked: it is gone or marked, so this isolate was taken for dead.
    if (!checked.length) return "lost";
    reads.conflicted(read!, checked);
    return "conflict";
  }
  reads.settled();
  finish(commit.versionstamp);
  return "committed";
}
