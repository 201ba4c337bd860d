/**
 * A recovery storm: while webhooks keep arriving, clients are kicked (by the service, 4500, or by closing
 * their own sockets) and reconnect with `resume`. In the end every client has every notification of its
 * streams exactly once, in order, with no gaps, and no socket was ever sent the same position twice.
 */
import assert from "node:assert/strict";
import type { Identity } from "../../lib/auth.ts";
import { type Stream, streamHeadKey } from "../../lib/keys.ts";
import { streamsOf } from "../../lib/notifications.ts";
import { randomUser, startTestServer, type TestServer } from "../helpers/server.ts";
import type { Frame } from "../helpers/socket.ts";
import { announcement, postEvent, projectChanged } from "../helpers/webhook.ts";
import { createResumeLedger, sleep, waitUntil } from "./helpers.ts";

/** A client that reconnects and resumes after every close, as lib/client/realtime_client.ts does, until told to stop. */
function stormClient(server: TestServer, user: Identity) {
  const ledger = createResumeLedger();
  const streams = streamsOf(user.userId, user.role);
  let ws: WebSocket | null = null;
  let connectionId: string | null = null;
  let stopped = false;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let connections = 0;
  /** Positions sent twice on one socket: the server promises this never happens. */
  let repeatsOnOneSocket = 0;

  async function connect() {
    const token = await server.socketToken(user);
    // stop() may have run while the token was minted: a socket opened now would never be closed.
    if (stopped) return;
    const socket = new WebSocket(server.wsUrl, ["realtime.v1", token]);
    ws = socket;
    connections++;
    const seen = new Set<string>();
    socket.onmessage = (event) => {
      const frame: Frame = JSON.parse(event.data);
      if (frame.type === "welcome") {
        connectionId = String(frame.data.connectionId);
        const positions = Object.fromEntries(streams.map((s) => [s, ledger.positions[s] ?? 0]));
        socket.send(JSON.stringify({ type: "resume", data: { positions } }));
      } else if (frame.stream && frame.seq) {
        const key = `${frame.stream}#${frame.seq}`;
        if (seen.has(key)) repeatsOnOneSocket++;
        seen.add(key);
        ledger.take(frame);
      }
    };
    socket.onclose = () => {
      connectionId = null;
      if (!stopped) reconnectTimer = setTimeout(() => connect(), Math.random() * 30);
    };
  }

  return {
    user,
    streams,
    ledger,
    connect,
    get connectionId() {
      return connectionId;
    },
    get connections() {
      return connections;
    },
    get repeatsOnOneSocket() {
      return repeatsOnOneSocket;
    },
    /**
     * Closes an open socket from the client side; it reconnects by itself. Never one still in its handshake:
     * Deno would never settle that upgrade, and the test server's shutdown would wait for it (SECURITY.md).
     */
    drop() {
      if (ws?.readyState === WebSocket.OPEN) ws.close();
    },
    async stop() {
      stopped = true;
      clearTimeout(reconnectTimer);
      const socket = ws;
      if (!socket || socket.readyState === WebSocket.CLOSED) return;
      const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
      if (socket.readyState === WebSocket.CONNECTING) {
        await new Promise((resolve) => {
          socket.addEventListener("open", resolve);
          socket.addEventListener("close", resolve);
        });
      }
      socket.close();
      await closed;
    },
  };
}

Deno.test("[adversarial] a recovery storm ends with every notification once, in order, at every client", async () => {
  const server = await startTestServer({
    env: { RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_USER: "0", MESSAGE_RATE_PER_MINUTE: "100000" },
  });
  const users = [...Array.from({ length: 6 }, () => randomUser()), randomUser("admin"), randomUser("admin")];
  const clients = users.map((user) => stormClient(server, user));
  try {
    await Promise.all(clients.map((c) => c.connect()));
    await waitUntil(() => clients.every((c) => c.connectionId), 5000, "every client is welcomed");

    let publishing = true;
    const kicker = (async () => {
      for (let i = 0; publishing; i++) {
        await sleep(5 + Math.random() * 15);
        const victim = clients[Math.floor(Math.random() * clients.length)];
        // Half the kicks come from the server (4500, as an admin's Disconnect), half from the client.
        if (i % 2 === 0 && victim.connectionId) await server.service.disconnect(victim.connectionId);
        else victim.drop();
      }
    })();
    const senders = [0, 1, 2].map(async (lane) => {
      for (let i = 0; i < 50; i++) {
        const target = users[(lane * 7 + i) % 6];
        const event = i % 3 === 0
          ? announcement(`Storm ${lane}.${i}`)
          : projectChanged(target.userId, `step_${"abcdefghij"[i % 10]}`);
        const res = await postEvent(server.url, event);
        assert.equal(res.status, 202);
        await res.body?.cancel();
        // Paced, so that kicks and reconnects interleave with the events for about a second.
        await sleep(Math.random() * 30);
      }
    });
    await Promise.all(senders);
    publishing = false;
    await kicker;

    const heads = async (streams: Stream[]) =>
      Object.fromEntries(
        await Promise.all(
          streams.map(async (s) => [s, (await server.kv.get<number>(streamHeadKey(s))).value ?? 0]),
        ),
      );
    await waitUntil(
      async () => {
        for (const c of clients) {
          const want = await heads(c.streams);
          if (c.streams.some((s) => (c.ledger.positions[s] ?? 0) !== want[s])) return false;
        }
        return true;
      },
      15000,
      "every client has caught up with every stream",
    );

    for (const c of clients) {
      for (const stream of c.streams) {
        const stored = await server.service.parts.store.range(stream, 0);
        const applied = c.ledger.applied.get(stream) ?? [];
        assert.deepEqual(applied.map((f) => f.id), stored.map((n) => n.id), `${c.user.userId} on ${stream}`);
      }
      assert.equal(c.ledger.stranded, 0);
      assert.equal(c.repeatsOnOneSocket, 0, `${c.user.userId} was sent a position twice on one socket`);
    }
    // The storm really happened: clients reconnected many times while events arrived.
    const reconnects = clients.reduce((n, c) => n + c.connections - 1, 0);
    assert.ok(reconnects >= 20, `only ${reconnects} reconnects`);
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await server.close();
  }
});
