import assert from "node:assert/strict";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { connectWelcomed, openSocket } from "./helpers/socket.ts";

Deno.test("[ws] frame protocol: ping, subscribe, auth refresh, role rules", async (t) => {
  const server = await startTestServer();
  const client = randomUser();
  const admin = randomUser("admin");
  try {
    const { socket, welcome } = await connectWelcomed(server.wsUrl, await server.socketToken(client));

    await t.step("welcome carries connection, expiry, positions and limits", () => {
      assert.equal(welcome.data.role, "client");
      assert.match(String(welcome.data.expiresAt), /^\d{4}-\d\d-\d\dT/);
      assert.deepEqual(welcome.data.limits, {
        messageSizeLimit: 65536,
        messageRatePerMinute: 120,
        heartbeatInterval: 25000,
        connectionTimeout: 30000,
      });
      assert.match(welcome.timestamp, /Z$/);
    });

    await t.step("ping → pong with replyTo and server time", async () => {
      socket.send({ type: "ping", id: "p1" });
      const pong = await socket.next("pong");
      assert.equal(pong.data.replyTo, "p1");
      assert.ok(Math.abs(Date.parse(String(pong.data.serverTime)) - Date.now()) < 5000);
    });

    await t.step("unknown type → invalid_type; bad data → invalid_payload", async () => {
      socket.send({ type: "dance", id: 7 });
      const unknown = await socket.next("error");
      assert.equal(unknown.data.code, "invalid_type");
      assert.equal(unknown.data.replyTo, 7);
      socket.send({ type: "subscribe", data: { types: ["nonsense"] }, id: 8 });
      const invalid = await socket.next("error");
      assert.equal(invalid.data.code, "invalid_payload");
    });

    await t.step("__proto__ keys and nesting deeper than 32 are invalid_payload", async () => {
      socket.send('{"type":"ping","data":{"__proto__":{"polluted":true}}}');
      assert.equal((await socket.next("error")).data.code, "invalid_payload");
      let deep = "1";
      for (let i = 0; i < 40; i++) deep = `{"a":${deep}}`;
      socket.send(`{"type":"ping","data":${deep}}`);
      assert.equal((await socket.next("error")).data.code, "invalid_payload");
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    await t.step("a client may not send admin frames nor subscribe to metrics", async () => {
      socket.send({
        type: "system_announcement",
        data: { title: "x", message: "y", priority: "low" },
        id: 9,
      });
      const forbidden = await socket.next("error");
      assert.deepEqual(forbidden.data, {
        code: "forbidden",
        message: "Unauthorized for message type: system_announcement",
        replyTo: 9,
      });
      socket.send({ type: "subscribe", data: { types: ["metrics"] } });
      assert.equal((await socket.next("error")).data.code, "forbidden");
    });

    await t.step("a client may write only to admins", async () => {
      socket.send({
        type: "user_message",
        data: { toUserId: "someone", subject: "Hi", content: "x" },
        id: 10,
      });
      assert.equal((await socket.next("error")).data.code, "forbidden");
    });

    await t.step("auth with a fresh token for the same user → auth_ok", async () => {
      socket.send({ type: "auth", data: { token: await server.socketToken(client) }, id: "a1" });
      const ok = await socket.next("auth_ok");
      assert.equal(ok.data.replyTo, "a1");
      assert.match(String(ok.data.expiresAt), /Z$/);
    });

    await t.step("admin frames reach the matching sockets; subscriptions filter by type", async () => {
      const { socket: adminSocket } = await connectWelcomed(server.wsUrl, await server.socketToken(admin));
      socket.send({ type: "subscribe", data: { types: ["payment_update"] } });
      socket.send({ type: "ping", id: "sync" });
      await socket.next("pong");
      adminSocket.send({
        type: "system_announcement",
        data: { title: "Hello", message: "Everyone", priority: "low" },
        id: "s1",
      });
      const sent = await adminSocket.next("sent");
      assert.equal(sent.data.replyTo, "s1");
      // The admin reads `all` and gets it; the client filtered to payment_update does not.
      const [seen] = await adminSocket.collect(
        (f) => f.type === "system_announcement" && f.stream === "all",
        1,
      );
      assert.equal(seen.id, sent.data.id);
      adminSocket.send({
        type: "payment_update",
        data: {
          userId: client.userId,
          invoiceId: "inv-1",
          projectId: "p-1",
          projectName: "Toko Batik",
          amount: 1500000,
          status: "paid",
        },
      });
      const payment = await socket.next((f) => f.type === "payment_update");
      assert.equal(payment.message, 'Payment of Rp 1.500.000 for "Toko Batik" paid successfully');
      assert.equal(socket.frames.some((f) => f.type === "system_announcement" && f.stream === "all"), false);
      await adminSocket.close();
    });

    await t.step("auth with another user's token closes 1008 Invalid authentication", async () => {
      socket.send({ type: "auth", data: { token: await server.socketToken(randomUser()) } });
      assert.deepEqual(await socket.closed, { code: 1008, reason: "Invalid authentication" });
    });
  } finally {
    await server.close();
  }
});

Deno.test("[ws] bad input closes only the offending socket", async (t) => {
  const server = await startTestServer({
    env: { MESSAGE_SIZE_LIMIT: "1024", MESSAGE_RATE_PER_MINUTE: "10" },
  });
  try {
    const neighbour = await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()));
    const checkNeighbour = async () => {
      neighbour.socket.send({ type: "ping", id: "n" });
      await neighbour.socket.next("pong");
    };

    await t.step("text that is not JSON closes 1003", async () => {
      const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()));
      socket.send("not json");
      assert.deepEqual(await socket.closed, { code: 1003, reason: "Invalid data format" });
      await checkNeighbour();
    });

    await t.step("a binary frame closes 1003", async () => {
      const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()));
      socket.ws.send(new Uint8Array([1, 2, 3]));
      assert.deepEqual(await socket.closed, { code: 1003, reason: "Invalid data format" });
      await checkNeighbour();
    });

    await t.step("a frame over MESSAGE_SIZE_LIMIT closes 1009", async () => {
      const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()));
      socket.send({ type: "ping", data: "x".repeat(2000) });
      assert.deepEqual(await socket.closed, { code: 1009, reason: "Message too big" });
      await checkNeighbour();
    });

    await t.step("the limit counts UTF-8 bytes: 600 two-byte characters close 1009", async () => {
      const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()));
      socket.send({ type: "ping", data: "é".repeat(600) });
      assert.deepEqual(await socket.closed, { code: 1009, reason: "Message too big" });
      await checkNeighbour();
    });

    await t.step("over the rate: rate_limited, then 1008 at twice the rate", async () => {
      const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()));
      // 21 frames: the 21st passes twice the rate. (Deno closes the TCP connection right after writing the
      // close frame, so frames still in flight after it would turn the client's view into a 1006.)
      for (let i = 0; i < 21; i++) socket.send({ type: "ping", id: i });
      const pongs = await socket.collect("pong", 10);
      assert.equal(pongs.length, 10);
      const limited = await socket.next((f) => f.type === "error" && f.data.code === "rate_limited");
      assert.ok(limited);
      assert.deepEqual(await socket.closed, { code: 1008, reason: "Rate limit exceeded" });
      await checkNeighbour();
    });
    await neighbour.socket.close();
  } finally {
    await server.close();
  }
});

Deno.test("[ws] limits: per user, per IP, per isolate", async (t) => {
  const server = await startTestServer({
    env: { RATE_LIMIT_PER_USER: "2", RATE_LIMIT_PER_IP: "3", MAX_CONNECTIONS: "4" },
  });
  try {
    await t.step("a third socket of one user closes 1008 Connection limit exceeded", async () => {
      const user = randomUser();
      const a = await connectWelcomed(server.wsUrl, await server.socketToken(user));
      const b = await connectWelcomed(server.wsUrl, await server.socketToken(user));
      const c = await openSocket(server.wsUrl, ["realtime.v1", await server.socketToken(user)]);
      assert.deepEqual(await c.closed, { code: 1008, reason: "Connection limit exceeded" });
      await a.socket.close();
      await b.socket.close();
    });

    await t.step("a place frees when a socket closes", async () => {
      const user = randomUser();
      const a = await connectWelcomed(server.wsUrl, await server.socketToken(user));
      const b = await connectWelcomed(server.wsUrl, await server.socketToken(user));
      await a.socket.close();
      // The release is written to KV after the close event; wait for it to land.
      for (let i = 0; i < 50 && (await server.service.parts.registry.list()).length > 1; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const c = await connectWelcomed(server.wsUrl, await server.socketToken(user));
      await b.socket.close();
      await c.socket.close();
    });

    await t.step("a fourth socket from one IP closes 1008", async () => {
      await waitForNoConnections(server.service.parts.registry);
      const sockets = [];
      for (let i = 0; i < 3; i++) {
        sockets.push(await connectWelcomed(server.wsUrl, await server.socketToken(randomUser())));
      }
      const extra = await openSocket(server.wsUrl, ["realtime.v1", await server.socketToken(randomUser())]);
      assert.deepEqual(await extra.closed, { code: 1008, reason: "Connection limit exceeded" });
      for (const s of sockets) await s.socket.close();
    });

    await t.step("X-Forwarded-For counts only from a trusted proxy", async () => {
      const { clientAddress } = await import("../lib/client_ip.ts");
      const clientIp = (peer: string, xff: string) => {
        const client = clientAddress(peer, xff, ["127.0.0.1"]);
        return client.ok ? client.address : client.reason;
      };
      assert.equal(clientIp("127.0.0.1", "203.0.113.9, 127.0.0.1"), "203.0.113.9");
      assert.equal(clientIp("198.51.100.7", "203.0.113.9"), "198.51.100.7");
      assert.equal(clientIp("::ffff:127.0.0.1", "203.0.113.9"), "203.0.113.9");
    });
  } finally {
    await server.close();
  }

  await t.step("an isolate at MAX_CONNECTIONS closes 1013 Try again later", async () => {
    const small = await startTestServer({ env: { MAX_CONNECTIONS: "1" } });
    try {
      const a = await connectWelcomed(small.wsUrl, await small.socketToken(randomUser()));
      const b = await openSocket(small.wsUrl, ["realtime.v1", await small.socketToken(randomUser())]);
      assert.deepEqual(await b.closed, { code: 1013, reason: "Try again later" });
      await a.socket.close();
    } finally {
      await small.close();
    }
  });
});

async function waitForNoConnections(registry: { list(): Promise<unknown[]> }) {
  for (let i = 0; i < 100 && (await registry.list()).length > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
}
