import assert from "node:assert/strict";
import { nodeSocket } from "./helpers/node_socket.ts";
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
      const socket = nodeSocket(server.wsUrl, ["realtime.v1", token]);
      const first = await socket.first(() => true);
      assert.equal(socket.ws.protocol, "realtime.v1");
      assert.equal(first.type, "welcome");
      await socket.close();
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
      const socket = nodeSocket(server.wsUrl, ["realtime.v1", token], { origin: "https://evil.example" });
      assert.equal(await socket.handshake, 403);
      await socket.close();
    });
  } finally {
    await server.close();
  }
});
