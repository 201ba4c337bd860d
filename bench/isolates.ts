/**
 * Prints which isolate holds each of the service's sockets, `{connectionId: isolateId}`, read from the
 * connection records in its KV file. The load generator runs it to tell apart the sockets of the two workers
 * (the service has no admin listing on this branch to ask instead).
 *   deno run -A bench/isolates.ts <kv path>
 */
import type { ConnectionRecord } from "../lib/connections.ts";
import { connectionsPrefix } from "../lib/keys.ts";
import { openKv } from "../lib/kv.ts";

const kv = await openKv(Deno.args[0]);
const holders: Record<string, string> = {};
for await (const entry of kv.list<ConnectionRecord>({ prefix: connectionsPrefix() })) {
  holders[entry.value.id] = entry.value.isolateId;
}
kv.close();
console.log(JSON.stringify(holders));
