/**
 * What one ordinary client account can make the service hold (issue 14): resume amplification (memory), an
 * ack flood (disk) and extreme positions (error answers and error logs). Each attack runs against the service
 * as a subprocess started as production starts it, with the default limits, and is measured as an operator
 * would: the process's resident memory, the size of the KV files, the service's log.
 */
import assert from "node:assert/strict";
import WebSocketNode from "ws";
import type { Identity } from "../../lib/auth.ts";
import { draftsFor } from "../../lib/events.ts";
import { openKv } from "../../lib/kv.ts";
import { createLogger } from "../../lib/log.ts";
import { counterTotal } from "../../lib/metrics.ts";
import { createNotificationStore, type NotificationDraft } from "../../lib/notifications.ts";
import type { Outbound } from "../../lib/outbound.ts";
import { directoryBytes, MiB, processTreeRss, sampleRss } from "../helpers/memory.ts";
import { type ServiceProcess, startServiceProcess } from "../helpers/process.ts";
import { randomUser, startTestServer, TEST_SESSION_SECRET } from "../helpers/server.ts";
import { signSessionToken } from "../../lib/dev/demo_users.ts";
import { V8_FLAGS } from "../../scripts/v8_flags.ts";
import { nextFrame, nodeSocket, sleep, waitUntil } from "./helpers.ts";

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Stores `count` announcements of about 2 KB on `all` straight into the KV file the service will open. */
async function seedAnnouncements(kvPath: string, count: number) {
  const kv = await openKv(kvPath);
  try {
    const store = createNotificationStore(kv, { ttlMs: 30 * 86_400_000 });
    const message = "Scheduled maintenance of the dashboard. ".repeat(50).slice(0, 2000);
    for (let i = 0; i < count; i += 100) {
      const drafts = Array.from({ length: Math.min(100, count - i) }, (_, j) =>
        draftsFor({
          type: "announcement.published",
          data: { title: `Announcement ${i + j + 1}`, message, priority: "low" },
        })[0]);
      await store.append(drafts);
    }
  } finally {
    kv.close();
  }
}

interface Frame {
  type: string;
  data: Record<string, unknown>;
  stream?: string;
  seq?: number;
}

/**
 * A `ws` client that keeps only what a test looks at: every notification's stream and seq, and every other
 * frame. (Keeping thousands of 2 KB notification frames would measure the test, not the service.)
 */
function lightSocket(service: ServiceProcess, token: string) {
  const ws = new WebSocketNode(service.wsUrl, ["realtime.v1", token]);
  const seqs: number[] = [];
  const control: Frame[] = [];
  const listeners = new Set<() => void>();
  ws.on("message", (raw) => {
    const frame: Frame = JSON.parse(String(raw));
    if (typeof frame.seq === "number") seqs.push(frame.seq);
    else control.push(frame);
    for (const listener of [...listeners]) listener();
  });
  ws.on("error", () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: String(reason) }))
  );
  ws.on("close", () => listeners.forEach((listener) => listener()));

  /** Resolves once `check` holds over what arrived; rejects on close or after `ms`. */
  function until<T>(check: () => T | undefined, ms: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (value !== undefined) return done(() => resolve(value));
        if (ws.readyState === WebSocketNode.CLOSED) {
          done(() => reject(new Error(`Closed waiting for ${what}`)));
        }
      };
      const timer = setTimeout(() => done(() => reject(new Error(`Timed out waiting for ${what}`))), ms);
      const done = (then: () => void) => (clearTimeout(timer), listeners.delete(attempt), then());
      listeners.add(attempt);
      attempt();
    });
  }
  const reply = (id: string, ms = 10_000) =>
    until(() => control.find((f) => f.data?.replyTo === id), ms, `the reply to ${id}`);
  return {
    ws,
    seqs,
    control,
    closed,
    until,
    reply,
    welcomed: () => until(() => control.find((f) => f.type === "welcome"), 10_000, "welcome"),
    send: (frame: unknown) => ws.send(JSON.stringify(frame)),
    async close() {
      if (ws.readyState !== WebSocketNode.CLOSED) ws.close();
      await closed;
    },
  };
}

type LightSocket = ReturnType<typeof lightSocket>;

async function connect(service: ServiceProcess, user: Identity): Promise<LightSocket> {
  const socket = lightSocket(service, await service.socketToken(user));
  await socket.welcomed();
  return socket;
}

/**
 * A neighbour pinging every 100 ms from a process of its own (`pinger.ts`), so that its round trips measure
 * the service rather than this test's event loop, busy reading the attack's frames. Resolves once welcomed.
 */
async function neighbourPinger(service: ServiceProcess, user: Identity) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      new URL("./pinger.ts", import.meta.url).pathname,
      service.wsUrl,
      await service.socketToken(user),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`The pinger ended before it was welcomed: ${text}`);
    text += value;
  }
  let stopped: Promise<{ answered: number; worstMs: number }> | null = null;
  const stop = async () => {
    await child.stdin.close();
    for (let read = await lines.read(); !read.done; read = await lines.read()) text += read.value;
    assert.equal((await child.status).code, 0, text);
    return JSON.parse(text.trim().split("\n").at(-1)!);
  };
  /** Stops the pings (once); resolves with how many were answered and the slowest round trip. */
  return { stop: () => stopped ??= stop() };
}

/** The lines of the service's log at error level. */
function errorLines(service: ServiceProcess): string[] {
  return service.output().split("\n").filter((line) => /"level":"error"/.test(line));
}

Deno.test("[adversarial] resume amplification: 300 resumes of 3,000 announcements leave memory flat", async (t) => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/kv.sqlite`;
  await seedAnnouncements(kvPath, 3000);
  // With the V8 flags `deno task start` gives every worker. Without them V8 lets the old generation grow
  // further before collecting: about 110 MiB of garbage at the peak, all of it collectable (under
  // --max-old-space-size=40 the same attack runs at +17 MiB), so the figure would measure V8's heap sizing.
  const service = await startServiceProcess({ kvPath, env: { DENO_V8_FLAGS: V8_FLAGS } });
  const sockets: LightSocket[] = [];
  let pings: Awaited<ReturnType<typeof neighbourPinger>> | undefined;
  try {
    const neighbour = await connect(service, randomUser());
    sockets.push(neighbour);
    // Warm the paths a replay takes, so that the baseline is the service at work rather than just started.
    neighbour.send({ type: "resume", id: "warm", data: { positions: { all: 2900 } } });
    assert.equal((await neighbour.reply("warm")).type, "resumed");
    const baseline = processTreeRss(service.pid);
    const attacker = randomUser();
    const attackers: LightSocket[] = [];
    for (let i = 0; i < 3; i++) attackers.push(await connect(service, attacker));
    sockets.push(...attackers);
    const rss = sampleRss(service.pid);
    pings = await neighbourPinger(service, randomUser());

    await t.step("three sockets of one client each send 100 resume {all: 0} frames at once", async () => {
      for (const socket of attackers) {
        for (let i = 0; i < 100; i++) {
          socket.send({ type: "resume", id: `r-${i}`, data: { positions: { all: 0 } } });
        }
      }
      // Meanwhile a fresh socket of another client resumes from the start too.
      const fresh = await connect(service, randomUser());
      sockets.push(fresh);
      fresh.send({ type: "resume", id: "fresh", data: { positions: { all: 0 } } });
      const resumed = await fresh.reply("fresh", 45_000);
      assert.equal(resumed.type, "resumed");
      assert.equal(resumed.data.replayed, 3000);
      assert.deepEqual(fresh.seqs, Array.from({ length: 3000 }, (_, i) => i + 1), "not all stored, in order");

      // Every attacking frame is answered: a replay of its own (`resumed`) or `busy` while one runs.
      for (const socket of attackers) {
        const answers = [];
        for (let i = 0; i < 100; i++) answers.push(await socket.reply(`r-${i}`, 45_000));
        const busy = answers.filter((f) => f.type === "error" && f.data.code === "busy").length;
        const replays = answers.filter((f) => f.type === "resumed").length;
        assert.equal(busy + replays, 100, JSON.stringify(answers.find((f) => f.type === "error")));
        assert.ok(replays >= 1);
        // Each replay sent the whole stream in order: 3,000 frames a replay, nothing doubled within one.
        assert.equal(socket.seqs.length, replays * 3000);
        assert.deepEqual(socket.seqs.slice(0, 3000), Array.from({ length: 3000 }, (_, i) => i + 1));
      }
    });

    await t.step(
      "the server's memory grew by less than 100 MiB; the neighbour was answered within 1 s",
      async () => {
        const { worstMs: worst, answered } = await pings!.stop();
        const peak = rss.stop();
        console.log(
          `RSS baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB ` +
            `(+${((peak - baseline) / MiB).toFixed(1)} MiB); slowest of ${answered} pings ${
              worst.toFixed(0)
            } ms`,
        );
        assert.ok(peak - baseline < 100 * MiB, `RSS grew by ${((peak - baseline) / MiB).toFixed(1)} MiB`);
        assert.ok(answered >= 3, `only ${answered} pings answered`);
        assert.ok(worst < 1000, `a ping took ${worst.toFixed(0)} ms`);
        for (const socket of attackers) assert.equal(socket.ws.readyState, WebSocketNode.OPEN);
        assert.deepEqual(errorLines(service), []);
      },
    );
  } finally {
    await pings?.stop().catch(() => {});
    await Promise.all(sockets.map((s) => s.close()));
    await service.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

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
    // The service's own writes (isolate beats, connection records) settle into the files first.
    await sleep(1500);
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
      await waitUntil(
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
      await waitUntil(
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

async function droppedAcks(service: ServiceProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const out: Record<string, number> = { unknown: 0, over_budget: 0, foreign: 0 };
  for (const [, reason, value] of text.matchAll(/^realtime_acks_dropped_total\{reason="(\w+)"\} (\d+)$/gm)) {
    out[reason] = Number(value);
  }
  return out;
}

async function firstNotificationId(kvPath: string): Promise<string> {
  const kv = await openKv(kvPath);
  try {
    const entry = await kv.get<{ id: string }>(["notifications", "all", 1]);
    return entry.value!.id;
  } finally {
    kv.close();
  }
}

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

Deno.test("[adversarial] live notifications held behind a stalled replay are bounded: past BUFFER_SIZE, 4008", async () => {
  const logged: string[] = [];
  const server = await startTestServer({
    env: { BUFFER_SIZE: "50" },
    log: createLogger("info", {}, (line) => logged.push(line)),
  });
  const user = randomUser();
  const stream = `user:${user.userId}` as const;
  const draft = (n: number): NotificationDraft => ({
    stream,
    type: "system_announcement",
    title: `Stored ${n}`,
    message: "y".repeat(2000),
    data: { n },
  });
  try {
    // Stored, not delivered: more than the kernel's and Deno's buffers take, so that the replay stalls.
    for (let i = 0; i < 3000; i += 50) {
      await server.service.parts.store.append(Array.from({ length: 50 }, (_, j) => draft(i + j)));
    }
    const slow = nodeSocket(server.wsUrl, ["realtime.v1", await server.socketToken(user)]);
    const connectionId = String((await nextFrame(slow, (f) => f.type === "welcome")).data.connectionId);
    slow.ws.pause();
    slow.ws.send(JSON.stringify({ type: "resume", data: { positions: { [stream]: 0, all: 0 } } }));
    const session = server.service.parts.hub.get(connectionId) as unknown as { outbound: Outbound };
    await waitUntil(() => session.outbound.queued() > 0, 20_000, "the replay waits for the client");
    // Live notifications now wait behind the replay; one more than BUFFER_SIZE can wait makes it a slow consumer.
    for (let n = 0; n < 60 && server.service.parts.hub.get(connectionId); n++) {
      await server.service.publish([draft(3000 + n)]);
    }
    assert.equal(
      server.service.parts.hub.get(connectionId),
      undefined,
      "the stalled socket is still in the hub",
    );
    assert.equal(counterTotal(server.service.metrics.snapshot(), "realtime_slow_consumers_total"), 1);
    assert.ok(
      logged.some((line) => line.includes(connectionId) && line.includes('"code":4008')),
      "no 4008 close logged for the socket",
    );
    slow.ws.resume();
    await slow.closed;
  } finally {
    await server.close();
  }
});
