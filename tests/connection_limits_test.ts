/**
 * The per-IP limit under a burst of handshakes from one address, on one service and on two services
 * (isolates) sharing one KV file: exact, with no 5xx, 1011 or 1013, and every place free again once the
 * sockets close. (Close storms and thousands of sockets on the real process with two workers:
 * connection_limits_parallel_test.ts.)
 */
import assert from "node:assert/strict";
import { joinCrowd, leaveCrowd, openCrowd, tallyOutcomes } from "./helpers/crowd.ts";
import { storedPlaces, waitForPlaces } from "./helpers/places.ts";
import { randomUser, startTestServer, type TestServer } from "./helpers/server.ts";

const REFUSED = "1008 Connection limit exceeded";

/** Two services on one temp KV file, as two isolates of one deployment. */
async function twoIsolates(env: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "limits_" });
  const kvPath = `${dir}/realtime.kv`;
  const servers: TestServer[] = [];
  for (let i = 0; i < 2; i++) servers.push(await startTestServer({ kvPath, env }));
  return {
    servers,
    kv: servers[0].kv,
    async close() {
      for (const server of servers) await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("[limits] a burst of 120 handshakes from one address against RATE_LIMIT_PER_IP=50 gets exactly 50 in", async (t) => {
  const { servers, kv, close } = await twoIsolates({ RATE_LIMIT_PER_IP: "50", RATE_LIMIT_PER_USER: "3" });
  try {
    for (const [name, targets] of [["one isolate", [servers[0]]], ["two isolates", servers]] as const) {
      await t.step(`${name}: 50 open, 70 closed 1008, nothing else; the places come back`, async () => {
        const tokens = await Promise.all(
          Array.from({ length: 120 }, () => servers[0].socketToken(randomUser())),
        );
        const crowd = await openCrowd(
          120,
          (i) => joinCrowd(targets[i % targets.length].wsUrl, tokens[i]),
          120,
        );
        assert.deepEqual(tallyOutcomes(crowd), { welcome: 50, [REFUSED]: 70 });
        assert.equal((await storedPlaces(kv)).ip, 50);
        await leaveCrowd(crowd);
        await waitForPlaces(kv, { ip: 0, user: 0, keys: 0 }, 10_000);
      });
    }
  } finally {
    await close();
  }
});
