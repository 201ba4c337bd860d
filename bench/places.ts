/**
 * Prints how many connection places the service's KV file still holds, `{"byUser": n, "byIp": n}`. The load
 * generator runs it once every socket is closed: any place still taken then is a leak, which would lock its
 * user or its address out. It reads the file beside the running service, as bench/isolates.ts does.
 *   deno run -A bench/places.ts <kv path>
 */
import { connectionCountByIpKey, connectionCountByUserKey } from "../lib/keys.ts";
import { openKv } from "../lib/kv.ts";

export interface PlacesTaken {
  byUser: number;
  byIp: number;
}

/**
 * Places taken right now, per user and per IP, whichever isolate took them. Written against today's layout
 * (lib/connections.ts): one value per user and per IP, `{[connectionId]: isolateId}`; this one function is all
 * that changes when the layout does.
 */
export async function placesTaken(kv: Deno.Kv): Promise<PlacesTaken> {
  const count = async (prefix: readonly string[]) => {
    let taken = 0;
    for await (const entry of kv.list<Record<string, string>>({ prefix: [...prefix] })) {
      taken += Object.keys(entry.value ?? {}).length;
    }
    return taken;
  };
  return {
    byUser: await count(connectionCountByUserKey("").slice(0, 1)),
    byIp: await count(connectionCountByIpKey("").slice(0, 1)),
  };
}

if (import.meta.main) {
  const kv = await openKv(Deno.args[0]);
  try {
    console.log(JSON.stringify(await placesTaken(kv)));
  } finally {
    kv.close();
  }
}
