/**
 * Places taken ahead. Thousands of users behind one address all claim under that address's one count, and every
 * isolate's batches would check it: while one isolate reads it and commits, another commits first, and the
 * first must read and commit again. So during a burst on a subject with a high limit, an isolate takes up to
 * ADVANCE_PLACES places more than its batch needs, in the same checked commit, and hands them to its next
 * handshakes without reading or checking that count at all; what it has not handed out by ADVANCE_TTL_MS
 * later it gives back. Places taken ahead are places taken like any other: counted in `claimed` and in the
 * isolate's holding, so the limit is never passed, and a crashed isolate's come back with the rest of its
 * holding.
 *
 * What they could cost is a refusal while places are only held ahead elsewhere. So they are only taken while
 * more than ADVANCE_HEADROOM places stay free, and a claim refused under a limit high enough for them
 * (`possible`) is decided once more REFUSAL_WAIT_MS later, once any held ahead then were handed out or given
 * back, and only refused if the limit is still full.
 */
import type { PlaceScope } from "./keys.ts";
import type { SubjectChange, SubjectTally } from "./place_batch.ts";
import type { PlaceSubject } from "./place_subjects.ts";

/** The most places an isolate holds ahead under one subject: a few batches' worth. */
export const ADVANCE_PLACES = 256;
/** Claims on one subject in one batch that make a burst, worth taking places ahead for. */
const ADVANCE_BURST = 8;
/** Places that must stay free after some are taken ahead; under a lower limit none ever are. */
export const ADVANCE_HEADROOM = 1024;
/** How long places taken ahead are kept for this isolate's handshakes before the rest goes back. */
export const ADVANCE_TTL_MS = 500;
/**
 * How long a refusal under a limit that allows places ahead waits before it is decided again: any place held
 * ahead when it was first decided is by then due back (ADVANCE_TTL_MS), and had as long again to land.
 */
export const REFUSAL_WAIT_MS = 2 * ADVANCE_TTL_MS;

interface Advance {
  subject: PlaceSubject;
  places: number;
  /** When what is left goes back. */
  due: number;
}

/** What one batch does to one subject: the change to its counts, and the places left ahead after it. */
export interface SubjectPlan extends SubjectChange {
  ahead: number;
}

/** This isolate's places taken ahead, by subject. */
export function createAdvances(limits: Record<PlaceScope, number>, now: () => number) {
  const ahead = new Map<string, Advance>();

  return {
    /** Places held ahead under the subject. */
    places: (subjectId: string) => ahead.get(subjectId)?.places ?? 0,
    /** Whether places may be taken ahead under the subject's limit (so a refusal under it waits, see above). */
    possible: (subject: PlaceSubject) => limits[subject.scope] > ADVANCE_HEADROOM,
    /** Subjects whose places ahead are due back now, at most `max`. */
    due(max: number): PlaceSubject[] {
      const t = now();
      return [...ahead.values()].filter((a) => a.due <= t).slice(0, max).map((a) => a.subject);
    },
    /** When the next places ahead fall due (a `now()` time), or null when none are held. */
    nextDue: (): number | null => ahead.size ? Math.min(...[...ahead.values()].map((a) => a.due)) : null,

    /**
     * What a batch does to a subject (`tally`): grants come out of the places held ahead first and then out of
     * `claimed`, releases go to `released`. `taken` is the subject's places taken as read (null when the batch
     * read nothing: its grants fit in what is held ahead); a burst read with room to spare takes more places
     * ahead, and `returning` gives back what is left.
     */
    plan(tally: SubjectTally, taken: number | null, returning: boolean): SubjectPlan {
      const { subject, granted, released } = tally;
      let places = ahead.get(subject.id)?.places ?? 0;
      let claimed = 0;
      let given = 0;
      const needed = granted - released;
      if (needed <= 0) given = -needed;
      else {
        const used = Math.min(places, needed);
        places -= used;
        claimed = needed - used;
      }
      if (returning) {
        given += places;
        places = 0;
      } else if (taken !== null && granted >= ADVANCE_BURST) {
        const free = limits[subject.scope] - (taken + claimed - given);
        const more = Math.min(ADVANCE_PLACES - places, free - ADVANCE_HEADROOM);
        if (more > 0) {
          claimed += more;
          places += more;
        }
      }
      const net = Math.min(claimed, given);
      return { subject, claimed: claimed - net, released: given - net, ahead: places };
    },

    /** Records what a committed batch left ahead under each subject it planned. */
    apply(plans: Iterable<SubjectPlan>) {
      for (const { subject, ahead: places } of plans) {
        const before = ahead.get(subject.id);
        if (places <= 0) ahead.delete(subject.id);
        else if (before && places <= before.places) before.places = places;
        else ahead.set(subject.id, { subject, places, due: now() + ADVANCE_TTL_MS });
      }
    },

    /** Forgets every place held ahead (given back by a janitor with the rest of the holding). */
    clear: () => ahead.clear(),
  };
}

export type Advances = ReturnType<typeof createAdvances>;
