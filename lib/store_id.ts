/**
 * The store's identity. Every process that shares a relay must share the store (the notification streams
 * are numbered in it); a relay event carries its store's id so that a peer on another store is noticed,
 * rather than its notifications being taken for duplicates of this store's own `seq` numbers.
 */
import { storeIdKey } from "./keys.ts";
import { commitWithRetry } from "./kv.ts";

/**
 * This store's id: read from KV, or created there once. The write is checked (create-if-absent), so
 * processes opening a fresh store at the same time all end up with the one id that committed first.
 */
export function ensureStoreId(kv: Deno.Kv): Promise<string> {
  return commitWithRetry<string>(async () => {
    const entry = await kv.get<unknown>(storeIdKey());
    if (typeof entry.value === "string" && entry.value) return { done: entry.value };
    const id = crypto.randomUUID();
    // `check(entry)`: absent (versionstamp null) or, should the key hold something else, exactly that.
    return { op: kv.atomic().check(entry).set(storeIdKey(), id), result: id };
  });
}
