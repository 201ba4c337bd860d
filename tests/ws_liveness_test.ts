import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import WebSocketNode from "ws";
import { nodeSocket } from "./helpers/node_socket.ts";
import { pace } from "./helpers/pace.ts";
import { randomUser, startTestServer, type TestServer } from "./helpers/server.ts";
import { connectWelcomed } from "./helpers/socket.ts";
import { counterTotal } from "../lib/metrics.ts";
import type { NotificationDraft } from "../lib/notifications.ts";

/**
 * A server on the test's clock whose once-a-second loops (the token expiry sweep among them) run only when
 * the test calls `sweep()`: fake `setInterval`, real sockets and KV.
 */
async function serverOnTestClock(env: Record<string, string>) {
  const timers = FakeTimers.install({ toFake: ["setInterval", "clearInterval"] });
  const clock = { at: Date.UTC(2026, 10, 1) };
  let server: TestServer;
  try {
    server = await startTestServer({ env, now: () => clock.at });
  } catch (error) {
    timers.uninstall();
    throw error;
  }
  return {
    server,
    clock,
    /** Runs each once-a-second loop once, at `clock.at`. */
    sweep: () => timers.tickAsync(1000),
    async close() {
      try {
        await server.close();
      } finally {
        timers.uninstall();
      }
    },
  };
}

const HEARTBEAT_MS = 1000;
const TIMEOUT_MS = 4000;

Deno.test("[ws] liveness: pings every heartbeat of silence, closes 1001 at exactly the timeout; token expiry 1008", async (t) => {
  const server = await startTestServer({
    env: { CONNECTION_TIMEOUT_MS: String(TIMEOUT_MS), HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) },
  });
  try {
    // Both sockets are silent (they send no frame); one answers pings (ws does so by itself), one does not.
    const answering = nodeSocket(server.wsUrl, ["realtime.v1", await server.socketToken(randomUser())]);
    const mute = nodeSocket(server.wsUrl, ["realtime.v1", await server.socketToken(randomUser())], {
      autoPong: false,
    });
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
        // Real time on real sockets: the pings and the timeout are Deno's own timer's (lib/liveness.ts),
        // which no clock of ours drives.
        const until = TIMEOUT_MS + 1500;
        const left = until - (performance.now() - openedAt);
        if (left > 0) await pace(left);
        assert.equal(answering.ws.readyState, WebSocketNode.OPEN);
        // Deno alone would ping at half the timeout (2 s here); every heartbeat of silence gives 4 or more.
        assert.ok(answeringPings.length >= 4, `pings at ${answeringPings.map(Math.round)} ms`);
        const gaps = answeringPings.slice(1).map((at, i) => at - answeringPings[i]);
        assert.ok(gaps.every((gap) => gap >= HEARTBEAT_MS - 100), `gaps ${gaps.map(Math.round)} ms`);
        assert.ok(
          gaps.filter((gap) => gap < TIMEOUT_MS / 2 - 200).length >= gaps.length - 1,
          `gaps ${gaps.map(Math.round)} ms: about a heartbeat each`,
        );
        await answering.close();
      },
    );
  } finally {
    await server.close();
  }

  await t.step(
    "a token open until its exp closes 1008 Token expired at the first sweep from exp on",
    async () => {
      const { server: short, clock, sweep, close } = await serverOnTestClock({ TOKEN_TTL_SECONDS: "2" });
      try {
        const { socket } = await connectWelcomed(short.wsUrl, await short.socketToken(randomUser())); // exp: +2 s
        clock.at += 1999;
        await sweep();
        socket.send({ type: "ping", id: "before-exp" });
        assert.equal((await socket.next("pong")).data.replyTo, "before-exp");
        clock.at += 1;
        const swept = Date.now();
        await sweep();
        assert.deepEqual(await socket.closed, { code: 1008, reason: "Token expired" });
        assert.ok(Date.now() - swept < 5000);
      } finally {
        await close();
      }
    },
  );

  await t.step("an auth refresh keeps the socket past the first token's exp", async () => {
    // The service's clock is the test's: `exp` is counted in whole seconds, so on the wall clock a 2 s token
    // can have little more than 1 s left, and this step raced it on a loaded machine.
    const { server: short, clock, sweep, close } = await serverOnTestClock({ TOKEN_TTL_SECONDS: "2" });
    try {
      const user = randomUser();
      const { socket } = await connectWelcomed(short.wsUrl, await short.socketToken(user)); // exp: +2 s
      clock.at += 1000;
      socket.send({ type: "auth", data: { token: await short.socketToken(user) } }); // exp: +3 s
      await socket.next("auth_ok");
      clock.at += 1500; // past the first token's exp, before the second's
      await sweep();
      socket.send({ type: "ping", id: "still-here" });
      assert.equal((await socket.next("pong")).data.replyTo, "still-here");
      clock.at += 1000; // past the second token's exp: the next sweep closes it
      await sweep();
      assert.deepEqual(await socket.closed, { code: 1008, reason: "Token expired" });
    } finally {
      await close();
    }
  });
});

Deno.test("[ws] a socket that stops reading is closed 4008 Slow consumer; others keep receiving", async () => {
  const server = await startTestServer({ env: { BUFFER_SIZE: "50", RATE_LIMIT_PER_IP: "0" } });
  try {
    const slow = nodeSocket(server.wsUrl, ["realtime.v1", await server.socketToken(randomUser())]);
    await slow.first((f) => f.type === "welcome");
    const reader = await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()));
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
    // its kernel buffers are full). Bursts of twice the buffer, sent in one macrotask, made a prompt reader
    // in this same process a slow consumer too whenever the kernel's socket buffers were small.
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
