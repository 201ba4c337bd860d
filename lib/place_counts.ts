/**
 * A subject's place counts: `claimed` and `released`, two `Deno.KvU64` that only grow while the subject has
 * places taken (taken = claimed − released), and go together once it has none, so that a user's or an address's
 * keys live only while it has sockets.
 */
import { withKvRetry } from "./kv.ts";
import { getAll } from "./kv_get_all.ts";
import type { PlaceSubject } from "./place_subjects.ts";

/** A stored count; absent is 0. */
export const countOf = (entry: Deno.KvEntryMaybe<unknown>): bigint =>
  entry.value instanceof Deno.KvU64 ? entry.value.value : 0n;

/** Places taken, from a subject's `claimed` and `released` entries. */
export const placesTaken = (claimed: Deno.KvEntryMaybe<unknown>, released: Deno.KvEntryMaybe<unknown>) =>
  Number(countOf(claimed) - countOf(released));

/** Two checks per subject, within KV's 100 checks per atomic operation. */
export const SUBJECTS_PER_TIDY = 50;

/**
 * Deletes the counts of the subjects (at most SUBJECTS_PER_TIDY) that have no place taken, in one commit that
 * checks both counts of each, so a claim or release landing meanwhile makes it fail rather than be lost.
 * Resolves with the subjects to try again (their commit conflicted); a subject with places taken is left alone,
 * since its last holder tidies it when its own share drops to 0.
 */
export async function tidyPlaceCounts(kv: Deno.Kv, subjects: PlaceSubject[]): Promise<PlaceSubject[]> {
  const entries = await getAll(kv, subjects.flatMap((s) => [s.claimedKey, s.releasedKey]));
  const op = kv.atomic();
  const idle = subjects.filter((_, i) => {
    const [claimed, released] = [entries[2 * i], entries[2 * i + 1]];
    if (claimed.versionstamp === null && released.versionstamp === null) return false;
    if (placesTaken(claimed, released) !== 0) return false;
    op.check(claimed, released).delete(claimed.key).delete(released.key);
    return true;
  });
  if (!idle.length) return [];
  const commit = await withKvRetry(() => op.commit());
  return commit.ok ? [] : idle;
}
