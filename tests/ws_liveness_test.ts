import assert from "node:assert/strict";
import WebSocketNode from "ws";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { connectWelcomed } from "./helpers/socket.ts";
import { counterTotal } from "../lib/metrics.ts";
import type { NotificationDraft } from "../lib/notifications.ts";

function nodeSocket(url: string, token: string, options: WebSocketNode.ClientOptions = {}) {
  const ws = new WebSocketNode(url, ["realtime.v1", token], options);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: String(reason) }))
  );
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return { ws, closed, opened };
}

const HEARTBEAT_MS = 1000;
const TIMEOUT_MS = 4000;

Deno.test("[ws] liveness: pings every heartbeat of silence, closes 1001 at exactly the timeout; token expiry 1008", async (t) => {
  const server = await startTestServer({
    env: { CONNECTION_TIMEOUT_MS: String(TIMEOUT_MS), HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) },
  });
  try {
    // Both sockets are silent (they send no frame); one answers pings (ws does so by itself), one does not.
    const answering = nodeSocket(server.wsUrl, await server.socketToken(randomUser()));
    const mute = nodeSocket(server.wsUrl, await server.socketToken(randomUser()), { autoPong: false });
    await Promise.all([answering.opened, mute.opened]);
    const openedAt = performance.now();
    const pingsAt = (ws: WebSocketNode) => {
      const at: number[] = [];
      ws.on("ping", () => at.push(performance.now() - openedAt));
      return at;
    };
    const answeringPings = pingsAt(answering.ws);
    const mutePings = pingsAt(mute.ws);

    await t.step(
      "a socket that answers nothing is closed 1001 at the timeout, not at half of it",
      async () => {
        const { code } = await mute.closed;
        const closedAfter = performance.now() - openedAt;
        assert.equal(code, 1001);
        assert.ok(closedAfter >= TIMEOUT_MS - 200, `closed after ${closedAfter} ms: sooner than the timeout`);
        assert.ok(closedAfter < TIMEOUT_MS + 2500, `closed after ${closedAfter} ms: long after the timeout`);
        assert.ok(mutePings.length >= 1, "it was pinged first");
        assert.ok(
          mutePings[0] < TIMEOUT_MS / 2 - 200,
          `first ping ${mutePings[0]} ms in: a heartbeat, not T/2`,
        );
      },
    );

    await t.step(
      "a silent socket that answers pings stays open past the timeout, pinged every heartbeat",
      async () => {
        const until = TIMEOUT_MS + 1500;
        const left = until - (performance.now() - openedAt);
        if (left > 0) await new Promise((r) => setTimeout(r, left));
        assert.equal(answering.ws.readyState, WebSocketNode.OPEN);
        // Deno alone would ping at half the timeout (2 s here); every heartbeat of silence gives 4 or more.
        assert.ok(answeringPings.length >= 4, `pings at ${answeringPings.map(Math.round)} ms`);
        const gaps = answeringPings.slice(1).map((at, i) => at - answeringPings[i]);
        assert.ok(gaps.every((gap) => gap >= HEARTBEAT_MS - 100), `gaps ${gaps.map(Math.round)} ms`);
        assert.ok(
          gaps.filter((gap) => gap < TIMEOUT_MS / 2 - 200).length >= gaps.length - 1,
          `gaps ${gaps.map(Math.round)} ms: about a heartbeat each`,
        );
        answering.ws.close();
        await answering.closed;
      },
    );
  } finally {
    await server.close();
  }

  await t.step("a token that reaches exp without a refresh closes 1008 Token expired", async () => {
    const short = await startTestServer({ env: { TOKEN_TTL_SECONDS: "2" } });
    try {
      const { socket } = await connectWelcomed(short.wsUrl, await short.socketToken(randomUser()));
      const started = Date.now();
      assert.deepEqual(await socket.closed, { code: 1008, reason: "Token expired" });
      assert.ok(Date.now() - started < 2000 + 5000);
    } finally {
      await short.close();
    }
  });

  await t.step("an auth refresh keeps the socket past the first token's exp", async () => {
    // The service's clock is the test's: `exp` is counted in whole seconds, so on the wall clock a 2 s token
    // can have little more than 1 s left, and this step raced it on a loaded machine.
    let clock = Date.UTC(2026, 10, 1);
    const short = await startTestServer({ env: { TOKEN_TTL_SECONDS: "2" }, now: () => clock });
    try {
      const user = randomUser();
      const { socket } = await connectWelcomed(short.wsUrl, await short.socketToken(user)); // exp: +2 s
      clock += 1000;
      socket.send({ type: "auth", data: { token: await short.socketToken(user) } }); // exp: +3 s
      await socket.next("auth_ok");
      clock += 1500; // past the first token's exp, before the second's
      // The expiry sweep runs every second of real time: let one pass with the clock there.
      await new Promise((r) => setTimeout(r, 1200));
      socket.send({ type: "ping", id: "still-here" });
      assert.equal((await socket.next("pong")).data.replyTo, "still-here");
      clock += 1000; // past the second token's exp: the same sweep now closes it
      assert.deepEqual(await socket.closed, { code: 1008, reason: "Token expired" });
    } finally {
      await short.close();
    }
  });
});

Deno.test("[ws] a socket that stops reading is closed 4008 Slow consumer; others keep receiving", async () => {
  const server = await startTestServer({ env: { BUFFER_SIZE: "50", RATE_LIMIT_PER_IP: "0" } });
  try {
    const slow = nodeSocket(server.wsUrl, await server.socketToken(randomUser()));
    await slow.opened;
    const reader = await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()));
    await new Promise((r) => setTimeout(r, 100));
    slow.ws.pause();
    const text = "x".repeat(2000);
    const draft: NotificationDraft = {
      stream: "all",
      type: "system_announcement",
      title: "Load",
      message: text,
      data: { title: "Load", message: text, priority: "low" },
    };
    // Bursts of half the buffer, the next one only once the reader has had the last: the reader is a prompt
    // consumer by construction, however loaded the machine, and only the paused socket piles frames up (once
    // its kernel buffers are full). Bursts of twice the buffer, sent in one macrotask, made a prompt reader in
    // this same process a slow consumer too whenever the kernel's socket buffers were small.
    const burst = 25;
    const slowClosed = () =>
      counterTotal(server.service.metrics.snapshot(), "realtime_slow_consumers_total") > 0;
    let published = 0;
    for (let round = 0; round < 400 && !slowClosed(); round++) {
      await server.service.publish(Array.from({ length: burst }, () => draft));
      published += burst;
      await reader.socket.next((f) => f.stream === "all" && f.seq === published, 20000);
    }
    slow.ws.resume();
    const closed = await slow.closed;
    assert.deepEqual(closed, { code: 4008, reason: "Slow consumer" });
    const frames = await reader.socket.collect((f) => f.stream === "all", published, 20000);
    assert.equal(frames.length, published);
    assert.deepEqual(frames.map((f) => f.seq), Array.from({ length: published }, (_, i) => i + 1));
    await reader.socket.close();
  } finally {
    await server.close();
  }
});

Deno.test("[ws] shutdown closes every socket 1001 Server shutting down", async () => {
  const server = await startTestServer();
  const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()));
  await server.service.shutdown();
  assert.deepEqual(await socket.closed, { code: 1001, reason: "Server shutting down" });
  await server.close();
});
