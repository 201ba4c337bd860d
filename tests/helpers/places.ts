/**
 * What the connection places look like in a KV file, read as any isolate would read them: the places taken by
 * every user and IP (claimed − released) and the holdings behind them. After every socket closes, all of it
 * must be gone, keys included.
 */
import { withKvRetry } from "../../lib/kv.ts";
import { eventually } from "./eventually.ts";

export interface StoredPlaces {
  /** Places taken, summed over every IP, and over every user. */
  ip: number;
  user: number;
  /** Sum of every holder's holdings (each place counts once under its IP and once under its user). */
  held: number;
  /** How many keys hold all that. */
  keys: number;
}

const count = (value: unknown) => value instanceof Deno.KvU64 ? Number(value.value) : Number(value);

/** Reads every place count and holding in `kv`. */
export function storedPlaces(kv: Deno.Kv): Promise<StoredPlaces> {
  return withKvRetry(async () => {
    const out: StoredPlaces = { ip: 0, user: 0, held: 0, keys: 0 };
    for (const [prefix, field] of [["place_counts_by_ip", "ip"], ["place_counts_by_user", "user"]] as const) {
      for await (const entry of kv.list({ prefix: [prefix] })) {
        out[field] += (entry.key[2] === "released" ? -1 : 1) * count(entry.value);
        out.keys++;
      }
    }
    for await (const entry of kv.list({ prefix: ["place_holdings_by_holder"] })) {
      out.held += count(entry.value);
      out.keys++;
    }
    return out;
  });
}

/**
 * Polls until the stored places equal `expected`: every place taken counted, every other one free and, with
 * `keys`, that many keys left (0: a free address's and user's counts are deleted too).
 */
export async function waitForPlaces(
  kv: Deno.Kv,
  expected: { ip: number; user: number; keys?: number },
  ms: number,
): Promise<StoredPlaces> {
  let seen: StoredPlaces | undefined;
  return await eventually(
    async () => {
      const now = seen = await storedPlaces(kv);
      const held = expected.ip + expected.user;
      return now.ip === expected.ip && now.user === expected.user && now.held === held &&
        (expected.keys === undefined || now.keys === expected.keys) && now;
    },
    ms,
    () => `places settled at ${JSON.stringify(expected)}; last seen ${JSON.stringify(seen)}`,
  );
}
