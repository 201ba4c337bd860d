import assert from "node:assert/strict";
import { createConnectionPlaces } from "../lib/connection_places.ts";
import { createIsolateDirectory } from "../lib/isolates.ts";
import { placesTaken } from "./places.ts";
import { idleBeat } from "../tests/helpers/isolate_beat.ts";

Deno.test("placesTaken() counts the places the service takes, and none once released", async () => {
  const kv = await Deno.openKv(":memory:");
  const isolates = createIsolateDirectory(kv);
  await isolates.beat(idleBeat("isolate-a", Date.now()));
  const places = createConnectionPlaces(kv, {
    isolateId: "isolate-a",
    isolates,
    perUser: 3,
    perIp: 50,
    log: { warn: () => {} },
  });
  try {
    await places.register();
    const deadline = Date.now() + 10_000;
    const sockets = [
      { id: "c1", user: "budi", ip: "203.0.113.7" },
      { id: "c2", user: "sari", ip: "203.0.113.7" },
      { id: "c3", user: "sari", ip: "198.51.100.4" },
    ];
    for (const s of sockets) assert.equal(await places.claim(s.id, s.user, s.ip, deadline), "ok");
    assert.deepEqual(await placesTaken(kv), { byUser: 3, byIp: 3 });

    places.release("c2");
    await places.settled();
    assert.deepEqual(await placesTaken(kv), { byUser: 2, byIp: 2 });
    for (const s of [sockets[0], sockets[2]]) places.release(s.id);
    await places.settled();
    assert.deepEqual(await placesTaken(kv), { byUser: 0, byIp: 0 });
  } finally {
    await places.close();
    kv.close();
  }
});
