import assert from "node:assert/strict";
import { assertOnceInOrder } from "./helpers/delivery.ts";
import { createBusRelays, withFaults } from "./helpers/relay.ts";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { connectWelcomed, type TestSocket } from "./helpers/socket.ts";
import { announcement, postEvent, projectChanged } from "./helpers/webhook.ts";

Deno.test("[relay] drops, duplicates and delays lose nothing: each socket gets each notification once, in order", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "relay_faults_" });
  const kvPath = `${dir}/realtime.kv`;
  const [busA, busB] = createBusRelays(2);
  // Deterministic faults on what A sends: every 3rd dropped, every 4th doubled, every 5th held back 30 ms.
  const faulty = withFaults(busA, {
    drop: (n) => n % 3 === 1,
    duplicate: (n) => n % 4 === 2,
    delayMs: (n) => (n % 5 === 3 ? 30 : 0),
  });
  const a = await startTestServer({ kvPath, relay: faulty });
  const b = await startTestServer({ kvPath, relay: busB });
  const sockets: { user: ReturnType<typeof randomUser>; socket: TestSocket }[] = [];
  try {
    const users = [randomUser(), randomUser(), randomUser()];
    await t.step("two sockets per user on isolate B", async () => {
      for (const user of users) {
        for (let i = 0; i < 2; i++) {
          const { socket } = await connectWelcomed(b.wsUrl, await b.socketToken(user));
          sockets.push({ user, socket });
        }
      }
    });

    const perUser = 12;
    const announcements = 6;
    await t.step("events accepted by isolate A cross a relay that misbehaves", async () => {
      for (let i = 0; i < perUser; i++) {
        for (const user of users) {
          const res = await postEvent(a.url, projectChanged(user.userId, "in_progress", `Project ${i}`));
          assert.equal(res.status, 202);
          await res.body?.cancel();
        }
        if (i % 2 === 0) await (await postEvent(a.url, announcement(`Notice ${i}`))).body?.cancel();
      }
      assert.ok(faulty.stats.dropped > 0 && faulty.stats.duplicated > 0 && faulty.stats.delayed > 0);
    });

    await t.step("after the relay heals, the next notification of each stream fills every gap", async () => {
      faulty.heal();
      for (const user of users) {
        await (await postEvent(a.url, projectChanged(user.userId, "done"))).body?.cancel();
      }
      await (await postEvent(a.url, announcement("Last one"))).body?.cancel();
      for (const { user, socket } of sockets) {
        await socket.collect((f) => f.stream === `user:${user.userId}` && f.seq === perUser + 1, 1);
        await socket.collect((f) => f.stream === "all" && f.seq === announcements + 1, 1);
      }
      // Held-back copies may still be in flight: let them all land, then one more frame proves they did.
      await faulty.close();
      await (await postEvent(a.url, announcement("After the stragglers"))).body?.cancel();
      for (const { user, socket } of sockets) {
        await socket.collect((f) => f.stream === "all" && f.seq === announcements + 2, 1);
        assertOnceInOrder(socket.frames, `user:${user.userId}`, perUser + 1, user.userId);
        assertOnceInOrder(socket.frames, "all", announcements + 2, user.userId);
      }
    });
  } finally {
    for (const { socket } of sockets) await socket.close();
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
