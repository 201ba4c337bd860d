/**
 * Faults: a process killed mid-stream loses nothing it acknowledged (SPEC §4: "a crash after the 2xx loses
 * nothing"), and a store that fails answers 503 `unavailable` with nothing half-written.
 */
import assert from "node:assert/strict";
import type { Stream } from "../../lib/keys.ts";
import { signSessionToken } from "../../lib/dev/demo_users.ts";
import { randomUser, startTestServer, TEST_SESSION_SECRET } from "../helpers/server.ts";
import { connectWelcomed } from "../helpers/socket.ts";
import { announcement, postEvent, projectChanged } from "../helpers/webhook.ts";
import { startServiceProcess } from "../helpers/process.ts";

interface Acknowledged {
  id: string;
  stream: Stream;
  seq: number;
}

Deno.test("[adversarial] a process killed right after its 202s loses nothing it acknowledged", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "realtime-kill-" });
  const kvPath = `${dir}/realtime.kv`;
  const user = randomUser();
  const acknowledged: Acknowledged[] = [];
  try {
    await t.step("webhooks stream in from four senders until the process is SIGKILLed", async () => {
      const service = await startServiceProcess({ kvPath, env: { RELAY: "none" } });
      let killed = false;
      const sender = async (n: number) => {
        for (let i = 0; !killed; i++) {
          const event = (i + n) % 2
            ? announcement(`Update ${n}.${i}`)
            : projectChanged(user.userId, "in_progress");
          const res = await postEvent(service.url, event).catch(() => null);
          if (res?.status !== 202) {
            await res?.body?.cancel();
            continue;
          }
          const body = await res.json().catch(() => null);
          if (body) acknowledged.push(...body.notifications);
          // Kill the moment enough were acknowledged, while the other senders' requests are in flight.
          if (acknowledged.length >= 40 && !killed) {
            killed = true;
            await service.kill();
          }
        }
      };
      await Promise.all([0, 1, 2, 3].map(sender));
      assert.ok(acknowledged.length >= 40);
    });

    await t.step("after a restart on the same KV file, GET /api/notifications lists every one", async (s) => {
      const service = await startServiceProcess({ kvPath, env: { RELAY: "none" } });
      try {
        const admin = randomUser("admin");
        const listed = new Set<string>();
        for (const who of [user, admin]) {
          const session = await signSessionToken(TEST_SESSION_SECRET, who);
          const res = await fetch(`${service.url}/api/notifications?limit=100`, {
            headers: { authorization: `Bearer ${session}` },
          });
          assert.equal(res.status, 200);
          for (const item of (await res.json()).items) listed.add(item.id);
        }
        const missing = acknowledged.filter((n) => !listed.has(n.id));
        assert.deepEqual(missing, []);

        await s.step("and a resume from nothing replays them all, gap-free, in order", async () => {
          const session = await signSessionToken(TEST_SESSION_SECRET, user);
          const minted = await fetch(`${service.url}/api/websocket/token`, {
            method: "POST",
            headers: { authorization: `Bearer ${session}` },
          });
          const { token } = await minted.json();
          const { socket } = await connectWelcomed(service.wsUrl, token);
          socket.send({ type: "resume", data: { positions: {} } });
          const resumed = await socket.next("resumed");
          const replayed = socket.frames.filter((f) => f.seq !== undefined);
          assert.equal(replayed.length, resumed.data.replayed);
          for (const stream of [`user:${user.userId}`, "all"]) {
            const seqs = replayed.filter((f) => f.stream === stream).map((f) => f.seq);
            assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `${stream} has a gap or is out of order`);
          }
          const ids = new Set(replayed.map((f) => f.id));
          const mine = acknowledged.filter((n) => n.stream !== "role:admin");
          assert.deepEqual(mine.filter((n) => !ids.has(n.id)), []);
          await socket.close();
        });
      } finally {
        await service.stop();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[adversarial] a failed store answers 503 unavailable and leaves nothing half-written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "realtime-kv-fault-" });
  const kvPath = `${dir}/realtime.kv`;
  const server = await startTestServer({ kvPath });
  const user = randomUser();
  const streams: Stream[] = [`user:${user.userId}`, "role:admin", "all"];
  try {
    const accepted = await postEvent(server.url, projectChanged(user.userId), { id: "msg_before" });
    assert.equal(accepted.status, 202);
    await accepted.body?.cancel();
    const before = await server.service.parts.store.heads(streams);

    // The fault: the service's KV handle is gone, as when the database file or KV Connect fails.
    server.kv.close();
    const failed = await postEvent(server.url, projectChanged(user.userId), { id: "msg_during" });
    assert.equal(failed.status, 503);
    assert.deepEqual((await failed.json()).error.code, "unavailable");
    const session = await server.sessionToken(user);
    const listing = await fetch(`${server.url}/api/notifications`, {
      headers: { authorization: `Bearer ${session}` },
    });
    assert.equal(listing.status, 503);
    await listing.body?.cancel();

    // Another handle on the same file sees the store exactly as before the fault.
    const kv = await Deno.openKv(kvPath);
    try {
      const heads = await kv.getMany<number[]>(streams.map((s) => ["stream_heads", s]));
      assert.deepEqual(Object.fromEntries(streams.map((s, i) => [s, heads[i].value ?? 0])), before);
      assert.equal((await kv.get(["webhook_ids", "msg_during"])).value, null);
      assert.notEqual((await kv.get(["webhook_ids", "msg_before"])).value, null);
    } finally {
      kv.close();
    }
  } finally {
    await server.close().catch(() => {}); // Its KV handle is already closed.
    await Deno.remove(dir, { recursive: true });
  }
});
