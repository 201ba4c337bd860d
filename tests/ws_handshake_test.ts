import assert from "node:assert/strict";
import WebSocketNode from "ws";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { openSocket } from "./helpers/socket.ts";

Deno.test("[ws] handshake: three ways to present a token, subprotocol rules, origin and upgrade", async (t) => {
  const server = await startTestServer();
  try {
    const user = randomUser();
    await t.step("realtime.v1 + token selects realtime.v1 and welcomes", async () => {
      const token = await server.socketToken(user);
      const socket = await openSocket(server.wsUrl, ["realtime.v1", token]);
      assert.equal(socket.ws.protocol, "realtime.v1");
      const welcome = await socket.next("welcome");
      assert.equal(welcome.data.userId, user.userId);
      assert.deepEqual(welcome.data.positions, { [`user:${user.userId}`]: 0, all: 0 });
      const connected = await socket.next("system_announcement");
      assert.equal(connected.data.title, "Connected");
      assert.equal(connected.data.message, "Real-time updates are now active");
      assert.equal(connected.seq, undefined);
      await socket.close();
    });

    await t.step("a lone token is echoed as the subprotocol", async () => {
      const token = await server.socketToken(user);
      const socket = await openSocket(server.wsUrl, token);
      assert.equal(socket.ws.protocol, token);
      await socket.next("welcome");
      await socket.close();
    });

    await t.step("?token= is accepted", async () => {
      const token = await server.socketToken(user);
      const socket = await openSocket(`${server.wsUrl}?token=${token}`);
      await socket.next("welcome");
      await socket.close();
    });

    await t.step("Node ws client sends the protocols with no space after the comma", async () => {
      const token = await server.socketToken(user);
      const ws = new WebSocketNode(server.wsUrl, ["realtime.v1", token]);
      const first = await new Promise<string>((resolve, reject) => {
        ws.once("message", (data) => resolve(String(data)));
        ws.once("error", reject);
      });
      assert.equal(ws.protocol, "realtime.v1");
      assert.equal(JSON.parse(first).type, "welcome");
      const closed = new Promise((resolve) => ws.once("close", resolve));
      ws.close();
      await closed;
    });

    await t.step("a bad token closes 1008 Invalid authentication", async () => {
      const socket = await openSocket(server.wsUrl, ["realtime.v1", "not-a-token"]);
      assert.deepEqual(await socket.closed, { code: 1008, reason: "Invalid authentication" });
    });

    await t.step("a session token is not a socket token", async () => {
      const session = await server.sessionToken(user);
      const socket = await openSocket(server.wsUrl, ["realtime.v1", session]);
      assert.deepEqual(await socket.closed, { code: 1008, reason: "Invalid authentication" });
    });

    await t.step("no token closes 1008", async () => {
      const socket = await openSocket(server.wsUrl);
      assert.deepEqual(await socket.closed, { code: 1008, reason: "Invalid authentication" });
    });

    await t.step("426 without Upgrade: websocket", async () => {
      const res = await fetch(`${server.url}/ws`);
      assert.equal(res.status, 426);
      assert.equal((await res.json()).error.code, "upgrade_required");
    });

    await t.step("403 origin_not_allowed before the upgrade", async () => {
      const token = await server.socketToken(user);
      const ws = new WebSocketNode(server.wsUrl, ["realtime.v1", token], { origin: "https://evil.example" });
      const status = await new Promise<number>((resolve) => {
        ws.once("unexpected-response", (_req, res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
        });
      });
      assert.equal(status, 403);
      ws.on("error", () => {}); // terminate() reports the aborted handshake as an error
      ws.terminate();
    });
  } finally {
    await server.close();
  }
});
