import assert from "node:assert/strict";
import WebSocketNode from "ws";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { connectWelcomed } from "./helpers/socket.ts";
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

Deno.test("[ws] liveness: heartbeat pings, idle close 1001, token expiry 1008", async (t) => {
  const server = await startTestServer({
    env: { CONNECTION_TIMEOUT_MS: "2000", HEARTBEAT_INTERVAL_MS: "1000" },
  });
  try {
    await t.step("the server pings a silent socket, and a socket that answers stays open", async () => {
      const { ws, opened, closed } = nodeSocket(server.wsUrl, await server.socketToken(randomUser()));
      await opened;
      const pinged = new Promise((resolve) => ws.once("ping", resolve));
      await pinged;
      // Answering pings (ws does so by itself) keeps the socket alive past the timeout.
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(ws.readyState, WebSocketNode.OPEN);
      ws.close();
      await closed;
    });

    await t.step("a socket from which nothing arrives is closed 1001", async () => {
      const { opened, closed } = nodeSocket(server.wsUrl, await server.socketToken(randomUser()), {
        autoPong: false,
      });
      await opened;
      const started = Date.now();
      const { code } = await closed;
      assert.equal(code, 1001);
      assert.ok(Date.now() - started < 4000);
    });
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
    const short = await startTestServer({ env: { TOKEN_TTL_SECONDS: "2" } });
    try {
      const user = randomUser();
      const { socket } = await connectWelcomed(short.wsUrl, await short.socketToken(user));
      await new Promise((r) => setTimeout(r, 1000));
      socket.send({ type: "auth", data: { token: await short.socketToken(user) } });
      await socket.next("auth_ok");
      await new Promise((r) => setTimeout(r, 1600));
      socket.send({ type: "ping", id: "still-here" });
      assert.equal((await socket.next("pong")).data.replyTo, "still-here");
      await socket.close();
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
    let published = 0;
    for (let round = 0; round < 40 && slow.ws.readyState === WebSocketNode.OPEN; round++) {
      await server.service.publish(Array.from({ length: 100 }, () => draft));
      published += 100;
      await new Promise((r) => setTimeout(r, 20));
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
