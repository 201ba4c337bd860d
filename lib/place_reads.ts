/**
 * What a batch of claims reads before it commits. A claim must know the places taken of each subject it grows,
 * and the commit checks the `claimed` count it decided from; but most subjects a handshake brings (a user's
 * first socket) have no counts at all, and checking `versionstamp: null` proves that as well as a read would.
 * So a batch reads only the subjects that are likely to have counts: those this isolate holds or has just let
 * go of, and those it has seen held elsewhere; the rest it assumes free, checked by the commit. A commit that
 * conflicts tells which reads to trust again: if a subject it read has moved since (another isolate claimed on
 * a shared count: the usual case), the assumptions may stand; otherwise one of them failed, and every subject
 * is read.
 */
import { placeHolderKey } from "./keys.ts";
import { GET_MANY_KEYS, getAll } from "./kv_get_all.ts";
import type { Holder } from "./place_holders.ts";
import type { PlaceSubject } from "./place_subjects.ts";

/** Subjects remembered as held elsewhere: enough for every user with sockets on several isolates at once. */
const ELSEWHERE_MAX = 10_000;

/**
 * Conflicts in a row after which a batch reads every subject: a conflict that a subject read explains may still
 * hide an assumption that failed, while another isolate keeps claiming on a shared count.
 */
const CONFLICTS_BEFORE_READING_ALL = 3;

/** A subject's `claimed` and `released` entries, as read or as assumed (absent). */
export type CountEntries = [Deno.KvEntryMaybe<unknown>, Deno.KvEntryMaybe<unknown>];

/** What one batch read: the holder's entry and each claim subject's counts (read or assumed absent). */
export interface BatchReads {
  /** Null when nothing was read: the commit's check of the holder tells whether it still stands. */
  holder: Deno.KvEntryMaybe<unknown> | null;
  counts: Map<string, CountEntries>;
  /** Subjects assumed free (not read): their commit's check is all that proves it. */
  assumed: Set<string>;
}

/** The holder a batch commits under. */
export type HolderState = Pick<Holder, "id">;

/** Whether this isolate holds a share of the subject, or just let go of one (its counts may still stand). */
export type Known = (subject: PlaceSubject) => boolean;

const absent = (key: Deno.KvKey): Deno.KvEntryMaybe<unknown> => ({ key, value: null, versionstamp: null });

/** Creates the reader of one isolate's batches; `stats.reads` counts its `getMany` calls. */
export function createPlaceReads(kv: Deno.Kv, stats: { reads: number; assumed: number }) {
  /** Subjects found with counts this isolate had no share of, oldest first; read rather than assumed free. */
  const elsewhere = new Set<string>();
  /**
   * What the last conflicting commit checked: the `claimed` versionstamps of the subjects it read, and whether
   * it also checked assumed ones; null once the next read judged it.
   */
  let suspect: { read: Map<string, string | null>; assumed: boolean } | null = null;
  /** Conflicts in a row: after CONFLICTS_BEFORE_READING_ALL, every subject is read. */
  let conflicts = 0;

  async function readCounts(keys: Deno.KvKey[]) {
    stats.reads += Math.ceil(keys.length / GET_MANY_KEYS);
    return await getAll(kv, keys);
  }

  function remember(subject: PlaceSubject, entries: CountEntries) {
    if (entries[0].versionstamp === null) return;
    elsewhere.delete(subject.id);
    elsewhere.add(subject.id);
    if (elsewhere.size > ELSEWHERE_MAX) elsewhere.delete(elsewhere.values().next().value!);
  }

  /**
   * Reads the holder and the counts of the subjects that may have some (`known`, or seen elsewhere); the others
   * are assumed absent, unless the last commit's conflict is not explained by a subject read.
   */
  async function read(holder: HolderState, subjects: PlaceSubject[], known: Known): Promise<BatchReads> {
    // After a conflict that only an assumption can explain, or too many in a row, every subject is read.
    const readAll = conflicts >= CONFLICTS_BEFORE_READING_ALL || (suspect?.assumed && !suspect.read.size);
    const mustRead = (s: PlaceSubject) => readAll || known(s) || elsewhere.has(s.id);
    const counts = new Map<string, CountEntries>();
    let holderEntry: Deno.KvEntryMaybe<unknown> | null = null;
    const readNow = async (some: PlaceSubject[]) => {
      const entries = await readCounts([
        ...(holderEntry ? [] : [placeHolderKey(holder.id)]),
        ...some.flatMap((s) => [s.claimedKey, s.releasedKey]),
      ]);
      holderEntry ??= entries.shift()!;
      some.forEach((s, i) => counts.set(s.id, [entries[2 * i], entries[2 * i + 1]]));
    };
    const first = subjects.filter(mustRead);
    if (first.length) await readNow(first);

    const rest = subjects.filter((s) => !counts.has(s.id));
    // A conflict no subject read explains: one that was assumed free has counts after all.
    const moved = ([id, versionstamp]: [string, string | null]) =>
      counts.has(id) && counts.get(id)![0].versionstamp !== versionstamp;
    const unexplained = suspect?.assumed && ![...suspect.read].some(moved);
    suspect = null;
    const assumed = new Set<string>();
    if (unexplained && rest.length) await readNow(rest);
    else {
      stats.assumed += rest.length;
      for (const s of rest) {
        assumed.add(s.id);
        counts.set(s.id, [absent(s.claimedKey), absent(s.releasedKey)]);
      }
    }
    for (const s of subjects) if (!known(s) && !assumed.has(s.id)) remember(s, counts.get(s.id)!);
    return { holder: holderEntry, counts, assumed };
  }

  return {
    read,
    /** The commit of a batch that read `reads` conflicted; it checked the `claimed` count of `checked`. */
    conflicted(reads: BatchReads, checked: PlaceSubject[]) {
      conflicts++;
      const read = checked.filter((s) => !reads.assumed.has(s.id));
      suspect = {
        read: new Map(read.map((s) => [s.id, reads.counts.get(s.id)![0].versionstamp])),
        assumed: read.length < checked.length,
      };
    },
    /** A commit landed, or a batch needed none. */
    settled() {
      conflicts = 0;
      suspect = null;
    },
    /** Forgets a subject this isolate now holds (its holding says enough). */
    held(subject: PlaceSubject) {
      elsewhere.delete(subject.id);
    },
  };
}

export type PlaceReads = ReturnType<typeof createPlaceReads>;
