/**
 * Place holders: the registration under which an isolate holds its connection places. Its record names the
 * isolate (whose heartbeat tells whether it lives) and counts the owner's commits; every commit of the owner
 * checks and rewrites it, and only a reclaimer (lib/place_reclaim.ts) otherwise changes it.
 */
import type { IsolateDirectory } from "./isolates.ts";
import { placeHolderKey, placeHoldersPrefix } from "./keys.ts";
import { withKvRetry } from "./kv.ts";

/** A holder's record: which isolate registered it, how many commits it made, whether it is being reclaimed. */
export interface PlaceHolder {
  isolateId: string;
  registeredAt: number;
  /** Counts the owner's commits, so that it can tell whether a commit whose answer it lost has landed. */
  commits: number;
  reclaiming: boolean;
}

/** A holder as its owner knows it. */
export interface Holder {
  id: string;
  /** The record as the owner last committed it, and that commit's versionstamp. */
  record: PlaceHolder;
  versionstamp: string;
  /**
   * A commit that threw after it was sent (its answer lost): it may or may not have landed. `commits` is what
   * the record says if it did, and `finish` does the bookkeeping of a commit that landed.
   */
  unsure: { commits: number; finish: (versionstamp: string) => void } | null;
}

/** Writes a fresh holder record for `isolateId`; call it only once that isolate has a heartbeat record. */
export async function registerHolder(kv: Deno.Kv, isolateId: string, now: () => number): Promise<Holder> {
  const id = crypto.randomUUID();
  const record: PlaceHolder = { isolateId, registeredAt: now(), commits: 0, reclaiming: false };
  const key = placeHolderKey(id);
  const commit = await withKvRetry(() =>
    kv.atomic().check({ key, versionstamp: null }).set(key, record).commit()
  );
  if (!commit.ok) throw new Error("A fresh place holder id was already taken");
  return { id, record, versionstamp: commit.versionstamp, unsure: null };
}

/**
 * Whether the owner's commit whose answer was lost landed ("landed", finished now), did not ("not_landed": its
 * work is still queued), or no longer matters because the holder was reclaimed meanwhile ("lost").
 */
export async function settleUnsure(kv: Deno.Kv, holder: Holder): Promise<"landed" | "not_landed" | "lost"> {
  const entry = await withKvRetry(() => kv.get<PlaceHolder>(placeHolderKey(holder.id)));
  if (entry.versionstamp === null || entry.value.reclaiming) return "lost";
  const unsure = holder.unsure!;
  holder.unsure = null;
  if (entry.value.commits !== unsure.commits) return "not_landed";
  unsure.finish(entry.versionstamp);
  return "landed";
}

/**
 * Holders other than `ownHolderId` whose isolate is not live (no heartbeat within ISOLATE_STALE_MS), or whose
 * reclaiming was left unfinished. A holder is registered only after its isolate's first heartbeat, and the
 * isolates are read again, uncached, after the holders were listed, so a newly started isolate is never taken
 * for dead. Costs one short list a round while every holder is live.
 */
export async function deadHolders(
  kv: Deno.Kv,
  isolates: IsolateDirectory,
  ownHolderId: string | null,
): Promise<string[]> {
  const holders = await withKvRetry(async () => {
    const out: Deno.KvEntry<PlaceHolder>[] = [];
    for await (const entry of kv.list<PlaceHolder>({ prefix: placeHoldersPrefix() })) out.push(entry);
    return out;
  });
  const others = holders.filter((h) => h.key[1] !== ownHolderId);
  const cached = await isolates.liveIds();
  const suspects = others.filter((h) => h.value.reclaiming || !cached.has(h.value.isolateId));
  if (!suspects.length) return [];
  const live = new Set((await isolates.records()).map((r) => r.isolateId));
  return suspects.filter((h) => h.value.reclaiming || !live.has(h.value.isolateId)).map((h) =>
    String(h.key[1])
  );
}
