/**
 * What the connection places look like in a KV file, read as any isolate would read them: the place counts of
 * every user and IP and the holdings behind them. After every socket closes, all of it must be gone.
 */
import { withKvRetry } from "../../lib/kv.ts";

export interface StoredPlaces {
  /** Sum of every IP's place count, and of every user's. */
  ip: number;
  user: number;
  /** Sum of every holder's holdings (each place counts once under its IP and once under its user). */
  held: number;
  /** How many keys hold all that. */
  keys: number;
}

/** Reads every place count and holding in `kv`. */
export function storedPlaces(kv: Deno.Kv): Promise<StoredPlaces> {
  return withKvRetry(async () => {
    const out: StoredPlaces = { ip: 0, user: 0, held: 0, keys: 0 };
    const sum = async (prefix: string, field: "ip" | "user" | "held") => {
      for await (const entry of kv.list<number>({ prefix: [prefix] })) {
        out[field] += entry.value;
        out.keys++;
      }
    };
    await sum("place_counts_by_ip", "ip");
    await sum("place_counts_by_user", "user");
    await sum("place_holdings_by_holder", "held");
    return out;
  });
}

/** Polls until the stored places equal `expected` (every place taken counted, every other one free). */
export async function waitForPlaces(
  kv: Deno.Kv,
  expected: { ip: number; user: number },
  ms: number,
): Promise<StoredPlaces> {
  const deadline = Date.now() + ms;
  for (;;) {
    const now = await storedPlaces(kv);
    const held = expected.ip + expected.user;
    if (now.ip === expected.ip && now.user === expected.user && now.held === held) return now;
    if (Date.now() > deadline) {
      throw new Error(`Places never settled at ${JSON.stringify(expected)}: ${JSON.stringify(now)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
