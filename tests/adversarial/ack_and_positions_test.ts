/**
 * What one client account's acks and positions can make the service write or answer (SECURITY.md,
 * "Exhaustion by one client account"): an ack flood (disk) and extreme positions (error answers and error
 * logs), against the service as a subprocess with the default limits, measured by the size of its KV files,
 * its metrics and its log.
 */
import assert from "node:assert/strict";
import { openKv } from "../../lib/kv.ts";
import { directoryBytes, MiB } from "../helpers/memory.ts";
import { startServiceProcess } from "../helpers/process.ts";
import { randomUser, TEST_SESSION_SECRET } from "../helpers/server.ts";
import { signSessionToken } from "../../lib/dev/demo_users.ts";
import { eventually } from "../helpers/eventually.ts";
import {
  connect,
  droppedAcks,
  errorLines,
  firstNotificationId,
  LightSocket,
  MAX_SAFE,
  recordsWritten,
  seedAnnouncements,
} from "./one_account.ts";

Deno.test("[adversarial] ack flood: 100 frames of 500 made-up ids store nothing", async (t) => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/kv.sqlite`;
  await seedAnnouncements(kvPath, 1);
  const service = await startServiceProcess({ kvPath });
  const user = randomUser();
  const sockets: LightSocket[] = [];
  try {
    const flooder = await connect(service, user);
    sockets.push(flooder);
    // The socket's record is in the files first; from then on the service only rewrites what it has (its
    // beat, the records' refresh), in the baseline as during the flood.
    await recordsWritten(service, 1);
    const before = directoryBytes(dir);

    await t.step("the flood is answered rate_limited past the socket's budget, and counted", async () => {
      for (let i = 0; i < 100; i++) {
        const ids = Array.from({ length: 500 }, () => crypto.randomUUID());
        flooder.send({ type: "ack", id: `a-${i}`, data: { ids } });
      }
      flooder.send({ type: "ping", id: "after" });
      await flooder.reply("after");
      const limited = flooder.control.filter((f) => f.type === "error" && f.data.code === "rate_limited");
      assert.equal(limited.length, 98, "the first 1,000 ids are the budget of a minute");
      assert.ok(limited.every((f) => String(f.data.replyTo).startsWith("a-")));
      await eventually(
        async () => (await droppedAcks(service)).unknown === 1000,
        10_000,
        "the budgeted ids are checked",
      );
      assert.deepEqual(await droppedAcks(service), { unknown: 1000, over_budget: 49_000, foreign: 0 });
    });

    await t.step("the KV files grew by less than 1 MiB", () => {
      const grown = directoryBytes(dir) - before;
      console.log(`KV files grew by ${(grown / 1024).toFixed(0)} KiB`);
      assert.ok(grown < MiB, `KV files grew by ${(grown / MiB).toFixed(2)} MiB`);
    });

    await t.step("an ack of the user's own notification on another socket is still recorded", async () => {
      const other = await connect(service, user);
      sockets.push(other);
      other.send({ type: "resume", id: "r", data: { positions: { all: 0 } } });
      await other.reply("r");
      const id = await firstNotificationId(kvPath);
      other.send({ type: "ack", id: "mine", data: { ids: [id, crypto.randomUUID()] } });
      other.send({ type: "ping", id: "after" });
      await other.reply("after");
      await eventually(
        async () => (await droppedAcks(service)).unknown === 1001,
        10_000,
        "the ack is checked",
      );
      await Promise.all(sockets.map((s) => s.close()));
      await service.stop();
      const kv = await openKv(kvPath);
      try {
        const deliveries = [];
        for await (const entry of kv.list({ prefix: ["deliveries"] })) deliveries.push(entry.key);
        assert.deepEqual(deliveries, [["deliveries", user.userId, id]]);
      } finally {
        kv.close();
      }
    });
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    await service.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[adversarial] extreme positions and ids: invalid_payload over the socket, 4xx over REST, no error log", async (t) => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/kv.sqlite`;
  await seedAnnouncements(kvPath, 3);
  const service = await startServiceProcess({ kvPath });
  const user = randomUser();
  const stream = `user:${user.userId}`;
  const sockets: LightSocket[] = [];
  try {
    const socket = await connect(service, user);
    sockets.push(socket);

    await t.step("a position of 2^53−1 is invalid_payload naming the stream, however often", async () => {
      for (let i = 0; i < 50; i++) {
        const positions = i % 2 ? { all: MAX_SAFE } : { [stream]: MAX_SAFE, all: 0 };
        socket.send({ type: "resume", id: `max-${i}`, data: { positions } });
        const reply = await socket.reply(`max-${i}`);
        assert.equal(reply.type, "error");
        assert.equal(reply.data.code, "invalid_payload");
        assert.match(
          String(reply.data.message),
          new RegExp(`"${i % 2 ? "all" : stream}" is beyond its head`),
        );
      }
    });

    await t.step("one past the head is refused; the head itself replays nothing", async () => {
      socket.send({ type: "resume", id: "past", data: { positions: { all: 4 } } });
      assert.equal((await socket.reply("past")).data.code, "invalid_payload");
      socket.send({ type: "resume", id: "head", data: { positions: { all: 3, [stream]: 0 } } });
      const resumed = await socket.reply("head");
      assert.equal(resumed.type, "resumed");
      assert.equal(resumed.data.replayed, 0);
    });

    await t.step(
      "positions that are not safe integers fail the schema; other users' streams are ignored",
      async () => {
        for (const [n, position] of [2 ** 53, 1e308, -1, 0.5, -0.5].entries()) {
          socket.send({ type: "resume", id: `bad-${n}`, data: { positions: { all: position } } });
          assert.equal((await socket.reply(`bad-${n}`)).data.code, "invalid_payload", `position ${position}`);
        }
        socket.send({
          type: "resume",
          id: "theirs",
          data: { positions: { "user:someone-else": MAX_SAFE, "role:admin": MAX_SAFE, "no-such-stream": 7 } },
        });
        const resumed = await socket.reply("theirs");
        assert.equal(resumed.type, "resumed");
        assert.equal(resumed.data.replayed, 3);
        assert.deepEqual(resumed.data.positions, { [stream]: 0, all: 3 });
      },
    );

    await t.step("a REST cursor beyond a head is 422; one within it is a page", async () => {
      const token = await service.socketToken(user);
      const list = (positions: Record<string, number>) => {
        const cursor = btoa(JSON.stringify(positions)).replace(/\+/g, "-").replace(/\//g, "_").replace(
          /=+$/,
          "",
        );
        return fetch(`${service.url}/api/notifications?cursor=${cursor}`, {
          headers: { authorization: `Bearer ${token}` },
        });
      };
      for (
        const positions of [{ all: MAX_SAFE, [stream]: 0 }, { all: 0, [stream]: MAX_SAFE }, {
          all: 4,
          [stream]: 0,
        }]
      ) {
        const res = await list(positions);
        assert.equal(res.status, 422, JSON.stringify(positions));
        const body = await res.json();
        assert.equal(body.error.code, "invalid_query");
        assert.match(JSON.stringify(body.error.issues), /beyond its head/);
      }
      const page = await list({ all: 2, [stream]: 0 });
      assert.equal(page.status, 200);
      assert.deepEqual((await page.json()).items.map((n: { seq: number }) => n.seq), [2, 1]);
    });

    await t.step(
      "ids longer than a KV key are 404, not 500 (mark read, and an admin's disconnect)",
      async () => {
        const token = await service.socketToken(user);
        const admin = await signSessionToken(TEST_SESSION_SECRET, randomUser("admin"));
        for (const length of [201, 3000, 60_000]) {
          const id = "x".repeat(length);
          const read = await fetch(`${service.url}/api/notifications/${id}/read`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}` },
          });
          assert.equal(read.status, 404, `mark read, id of ${length}`);
          await read.body?.cancel();
          const kick = await fetch(`${service.url}/api/admin/websocket/connections/${id}`, {
            method: "DELETE",
            headers: { authorization: `Bearer ${admin}` },
          });
          assert.equal(kick.status, 404, `disconnect, id of ${length}`);
          await kick.body?.cancel();
        }
      },
    );

    await t.step("nothing of this reached the log at error level, nor earned internal_error", async () => {
      socket.send({ type: "ping", id: "end" });
      await socket.reply("end");
      assert.equal(socket.control.filter((f) => f.data?.code === "internal_error").length, 0);
      assert.deepEqual(errorLines(service), []);
    });
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    await service.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
