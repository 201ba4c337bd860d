/**
 * Reading many KV keys at once: `kv.getMany` takes at most 10 keys a call, so longer lists go as several calls
 * at the same time. Each value is one consistent read; the list as a whole is not one snapshot.
 */
import { withKvRetry } from "./kv.ts";

/** KV's limit on the keys of one `getMany`. */
export const GET_MANY_KEYS = 10;

/** Reads every key (in order, duplicates allowed), retrying "database is locked" as `withKvRetry` does. */
export async function getAll<T>(kv: Deno.Kv, keys: readonly Deno.KvKey[]): Promise<Deno.KvEntryMaybe<T>[]> {
  const chunks: Deno.KvKey[][] = [];
  for (let i = 0; i < keys.length; i += GET_MANY_KEYS) chunks.push(keys.slice(i, i + GET_MANY_KEYS));
  const read = await Promise.all(chunks.map((chunk) => withKvRetry(() => kv.getMany<T[]>(chunk))));
  return read.flat() as Deno.KvEntryMaybe<T>[];
}
