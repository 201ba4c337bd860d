/**
 * Prints how many connection places the service's KV file still holds, `{"byUser": n, "byIp": n}`. The load
 * generator runs it once every socket is closed: any place still taken then is a leak, which would lock its
 * user or its address out. It reads the file beside the running service, as bench/isolates.ts does.
 *   deno run -A bench/places.ts <kv path>
 */
import { placeCountKey } from "../lib/keys.ts";
import { openKv } from "../lib/kv.ts";
import { countOf } from "../lib/place_counts.ts";

export interface PlacesTaken {
  byUser: number;
  byIp: number;
}

/**
 * Places taken right now, per user and per IP, whichever isolate took them: for every subject, its `claimed`
 * count less its `released` count (lib/place_counts.ts); this one function is all that changes when the
 * layout does.
 */
export async function placesTaken(kv: Deno.Kv): Promise<PlacesTaken> {
  const count = async (scope: "user" | "ip") => {
    let taken = 0n;
    const prefix = placeCountKey(scope, "", "claimed").slice(0, 1);
    for await (const entry of kv.list({ prefix: [...prefix] })) {
      const kind = entry.key[2];
      taken += kind === "claimed" ? countOf(entry) : kind === "released" ? -countOf(entry) : 0n;
    }
    return Number(taken);
  };
  return { byUser: await count("user"), byIp: await count("ip") };
}

if (import.meta.main) {
  const kv = await openKv(Deno.args[0]);
  try {
    console.log(JSON.stringify(await placesTaken(kv)));
  } finally {
    kv.close();
  }
}
