import assert from "node:assert/strict";
import { connectionKey } from "../lib/keys.ts";
import { createBroadcastRelay } from "../lib/relay_broadcast.ts";
import { eventually } from "./helpers/eventually.ts";
import { randomUser, startTestServer, type TestServer } from "./helpers/server.ts";
import { connectWelcomed, type TestSocket } from "./helpers/socket.ts";

async function adminFetch(server: TestServer, path: string, init: RequestInit = {}) {
  const token = await server.sessionToken(randomUser("admin"));
  return await fetch(`${server.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...init.headers },
  });
}

async function openClient(server: TestServer, role: "admin" | "client" = "client") {
  const token = await server.socketToken(randomUser(role));
  const { socket, welcome } = await connectWelcomed(server.wsUrl, token);
  return { socket, token, id: welcome.data.connectionId as string };
}

const ENDPOINTS = [
  ["GET", "/api/admin/websocket/status"],
  ["GET", "/api/admin/websocket/connections"],
  ["DELETE", "/api/admin/websocket/connections/nope"],
] as const;

Deno.test("[admin api] authorisation, figures that match what the test did, and disconnect 4500", async (t) => {
  const server = await startTestServer();
  const sockets: TestSocket[] = [];
  try {
    await t.step("401 unauthorized without a session, on every endpoint", async () => {
      for (const [method, path] of ENDPOINTS) {
        const res = await fetch(`${server.url}${path}`, { method });
        assert.equal(res.status, 401, `${method} ${path}`);
        assert.equal((await res.json()).error.code, "unauthorized");
      }
    });

    await t.step("403 forbidden for a client's session, and for a socket token", async () => {
      const client = await server.sessionToken(randomUser("client"));
      const socketToken = await server.socketToken(randomUser("admin"));
      for (const [method, path] of ENDPOINTS) {
        const res = await fetch(`${server.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${client}` },
        });
        assert.equal(res.status, 403, `${method} ${path}`);
        assert.equal((await res.json()).error.code, "forbidden");
        const bySocket = await fetch(`${server.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${socketToken}` },
        });
        assert.equal(bySocket.status, 401, "a socket token is not a session");
        await bySocket.body?.cancel();
      }
    });

    const opened: Array<{ socket: TestSocket; token: string; id: string }> = [];
    await t.step("status: N new sockets → activeConnections and connectionsByRole move by N", async () => {
      const before = await (await adminFetch(server, "/api/admin/websocket/status")).json();
      assert.deepEqual(Object.keys(before).sort(), [
        "activeConnections",
        "averageLatency",
        "connectionsByRole",
        "errorRate",
        "messagesPerSecond",
        "timestamp",
        "totalConnections",
      ]);
      for (const role of ["client", "client", "client", "admin"] as const) {
        const client = await openClient(server, role);
        opened.push(client);
        sockets.push(client.socket);
      }
      const after = await (await adminFetch(server, "/api/admin/websocket/status")).json();
      assert.equal(after.activeConnections - before.activeConnections, 4);
      assert.equal(after.connectionsByRole.client - before.connectionsByRole.client, 3);
      assert.equal(after.connectionsByRole.admin - before.connectionsByRole.admin, 1);
      assert.equal(after.totalConnections - before.totalConnections, 4);
      assert.ok(!Number.isNaN(Date.parse(after.timestamp)));
    });

    await t.step(
      "connections: the fields README's GET /api/admin/websocket/connections lists, never a token",
      async () => {
        const list = await eventually(
          async () => {
            const res = await adminFetch(server, "/api/admin/websocket/connections");
            assert.equal(res.status, 200);
            const body = await res.json();
            return opened.every((o) => body.some((c: { id: string }) => c.id === o.id)) ? body : undefined;
          },
          5000,
          "every opened socket in the list",
        );
        const text = JSON.stringify(list);
        for (const o of opened) assert.ok(!text.includes(o.token), "no socket token in the list");
        const row = list.find((c: { id: string }) => c.id === opened[0].id);
        for (
          const field of [
            "id",
            "userId",
            "userName",
            "userRole",
            "clientIp",
            "userAgent",
            "connectedAt",
            "lastActivity",
            "messageCount",
          ]
        ) assert.ok(field in row, field);
        assert.equal(row.userRole, "client");
        assert.equal(row.clientIp, "127.0.0.1");
        assert.ok(!Number.isNaN(Date.parse(row.connectedAt)));
      },
    );

    await t.step("DELETE closes that socket 4500 and answers 204; an unknown id is 404", async () => {
      const target = opened[1];
      const res = await adminFetch(server, `/api/admin/websocket/connections/${target.id}`, {
        method: "DELETE",
      });
      assert.equal(res.status, 204);
      assert.deepEqual(await target.socket.closed, { code: 4500, reason: "Disconnected by administrator" });
      const again = await adminFetch(server, `/api/admin/websocket/connections/${crypto.randomUUID()}`, {
        method: "DELETE",
      });
      assert.equal(again.status, 404);
      assert.equal((await again.json()).error.code, "not_found");
    });
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    await server.close();
  }
});

Deno.test("[admin api] two isolates sharing KV: status sums both, DELETE reaches the other isolate", async (t) => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/shared.kv`;
  const channel = `admin-test-${crypto.randomUUID()}`;
  const a = await startTestServer({ kvPath, relay: createBroadcastRelay(channel) });
  const b = await startTestServer({ kvPath, relay: createBroadcastRelay(channel) });
  const sockets: TestSocket[] = [];
  try {
    const onB = await openClient(b);
    sockets.push(onB.socket, (await openClient(a)).socket, (await openClient(b, "admin")).socket);

    await t.step("status asked of A counts B's sockets once B has beaten", async () => {
      const status = await eventually(
        async () => {
          const body = await (await adminFetch(a, "/api/admin/websocket/status")).json();
          return body.activeConnections === 3 ? body : undefined;
        },
        5000,
        "three connections counted across A and B",
      );
      assert.deepEqual(status.connectionsByRole, { admin: 1, client: 2 });
    });

    await t.step("DELETE on A closes B's socket 4500", async () => {
      await eventually(() => b.service.parts.registry.get(onB.id), 5000, "the record of B's socket");
      const res = await adminFetch(a, `/api/admin/websocket/connections/${onB.id}`, { method: "DELETE" });
      assert.equal(res.status, 204);
      assert.equal((await onB.socket.closed).code, 4500);
    });
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[admin api] a socket's frames reach its record within a heartbeat; a silent socket's is not rewritten", async () => {
  const HEARTBEAT_MS = 200;
  const server = await startTestServer({ env: { HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) } });
  const busy = await openClient(server);
  const quiet = await openClient(server);
  try {
    const versionOf = async (id: string) => (await server.kv.get(connectionKey(id))).versionstamp;
    const written = await eventually(
      async () => (await versionOf(quiet.id)) ?? undefined,
      5000,
      "the silent socket's record, written once it opened",
    );
    await new Promise((resolve) => setTimeout(resolve, 10)); // so that the frame's time is not the open's
    busy.socket.send({ type: "ping" });
    await busy.socket.next("pong");
    const row = await eventually(
      async () => {
        const list = await (await adminFetch(server, "/api/admin/websocket/connections")).json();
        return list.find((c: { id: string; messageCount: number }) =>
          c.id === busy.id && c.messageCount === 1
        );
      },
      5000,
      "the busy socket's record showing its frame",
    );
    assert.ok(
      Date.parse(row.lastActivity) > Date.parse(row.connectedAt),
      "lastActivity moved with the frame",
    );
    await new Promise((resolve) => setTimeout(resolve, 3 * HEARTBEAT_MS));
    assert.equal(
      await versionOf(quiet.id),
      written,
      "three heartbeats on, the silent socket's record is as written",
    );
  } finally {
    await Promise.all([busy.socket.close(), quiet.socket.close()]);
    await server.close();
  }
});
