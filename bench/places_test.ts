import assert from "node:assert/strict";
import { createConnectionRegistry } from "../lib/connections.ts";
import { createIsolateDirectory } from "../lib/isolates.ts";
import { placesTaken } from "./places.ts";

Deno.test("placesTaken() counts the places the service's registry takes, and none once released", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const registry = createConnectionRegistry(kv, {
      isolateId: "isolate-a",
      isolates: createIsolateDirectory(kv),
      perUser: 3,
      perIp: 50,
      recordTtlMs: 60_000,
    });
    const sockets = [
      { id: "c1", user: "budi", ip: "203.0.113.7" },
      { id: "c2", user: "sari", ip: "203.0.113.7" },
      { id: "c3", user: "sari", ip: "198.51.100.4" },
    ];
    for (const s of sockets) assert.equal(await registry.claim(s.id, s.user, s.ip), "ok");
    assert.deepEqual(await placesTaken(kv), { byUser: 3, byIp: 3 });

    await registry.release("c2", "sari", "203.0.113.7");
    assert.deepEqual(await placesTaken(kv), { byUser: 2, byIp: 2 });
    for (const s of [sockets[0], sockets[2]]) await registry.release(s.id, s.user, s.ip);
    assert.deepEqual(await placesTaken(kv), { byUser: 0, byIp: 0 });
  } finally {
    kv.close();
  }
});
