/**
 * Client addresses behind a trusted proxy: spellings of one IPv6 address, addresses of one /64 and IPv4-mapped
 * IPv6 all count against one per-IP limit; an oversized or unparsable forwarded address is a 400 before the
 * upgrade, never a 5xx, and takes no place.
 */
import assert from "node:assert/strict";
import { randomUser, startTestServer, type TestServer } from "../helpers/server.ts";
import { connectWelcomed } from "../helpers/socket.ts";
import { connectMany, type NodeSocket, nodeSocket, rawTcp, upgradeRequest, waitUntil } from "./helpers.ts";

const LIMIT_CLOSE = { code: 1008, reason: "Connection limit exceeded" };

/** Opens a socket of a fresh user that the local (trusted) proxy says comes from `forwardedFor`. */
async function connectFrom(server: TestServer, forwardedFor: string) {
  const token = await server.socketToken(randomUser());
  const [result] = await connectMany(
    1,
    () => nodeSocket(server.wsUrl, ["realtime.v1", token], { headers: { "x-forwarded-for": forwardedFor } }),
  );
  return result;
}

async function closeAll(sockets: NodeSocket[]) {
  await Promise.all(sockets.map((s) => (s.ws.close(), s.closed)));
}

/** Sends an upgrade with this X-Forwarded-For over raw TCP and returns the status line and body. */
async function upgradeWith(server: TestServer, forwardedFor: string) {
  const tcp = await rawTcp(server.port);
  try {
    const token = await server.socketToken(randomUser());
    const request = upgradeRequest("/ws", `realtime.v1, ${token}`)
      .replace("\r\n\r\n", `\r\nX-Forwarded-For: ${forwardedFor}\r\n\r\n`);
    await tcp.write(request);
    const { bytes } = await tcp.readToEnd(5000, (text) => /\r\n\r\n[\s\S]*\}\}/.test(text));
    const text = new TextDecoder().decode(bytes);
    return { status: text.split("\r\n")[0], body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  } finally {
    tcp.close();
  }
}

Deno.test("[adversarial] IPv6 spellings and /64 neighbours share one per-IP limit", async (t) => {
  const server = await startTestServer({ env: { RATE_LIMIT_PER_IP: "2", RATE_LIMIT_PER_USER: "3" } });
  const placesHeld = async () => (await server.service.parts.registry.list()).length;
  try {
    await t.step("three spellings of one IPv6 address: two open, the third is over the limit", async () => {
      const first = await connectFrom(server, "2001:db8::1");
      const second = await connectFrom(server, "2001:db8:0:0::1");
      const third = await connectFrom(server, "2001:0db8::0001");
      assert.equal(first.outcome, "welcome");
      assert.equal(second.outcome, "welcome");
      assert.deepEqual(third.outcome, LIMIT_CLOSE);
      // The record names the client by the /64 its limit counts.
      const ips = [...server.service.parts.hub.connections()].map((c) => c.clientIp);
      assert.deepEqual(ips, ["2001:db8::/64", "2001:db8::/64"]);
      await closeAll([first.socket, second.socket, third.socket]);
      await waitUntil(async () => await placesHeld() === 0, 3000, "the places are released");
    });

    await t.step("two addresses in one /64 share it; the next /64 is another client", async () => {
      const a = await connectFrom(server, "2001:db8:1:2::a");
      const b = await connectFrom(server, "[2001:db8:1:2:ffff:ffff:ffff:ffff]:443");
      const c = await connectFrom(server, "2001:db8:1:2:1234::1");
      const neighbour = await connectFrom(server, "2001:db8:1:3::a");
      assert.equal(a.outcome, "welcome");
      assert.equal(b.outcome, "welcome");
      assert.deepEqual(c.outcome, LIMIT_CLOSE);
      assert.equal(neighbour.outcome, "welcome");
      await closeAll([a.socket, b.socket, c.socket, neighbour.socket]);
      await waitUntil(async () => await placesHeld() === 0, 3000, "the places are released");
    });

    await t.step("IPv4-mapped IPv6 is the IPv4 client", async () => {
      const a = await connectFrom(server, "203.0.113.9");
      const b = await connectFrom(server, "::ffff:203.0.113.9");
      const c = await connectFrom(server, "::FFFF:cb00:7109");
      assert.equal(a.outcome, "welcome");
      assert.equal(b.outcome, "welcome");
      assert.deepEqual(c.outcome, LIMIT_CLOSE);
      await closeAll([a.socket, b.socket, c.socket]);
      await waitUntil(async () => await placesHeld() === 0, 3000, "the places are released");
    });

    await t.step("a 3 KB or unparsable X-Forwarded-For entry is 400 before the upgrade", async () => {
      for (
        const forwardedFor of ["1".repeat(3000), `203.0.113.9, ${"a".repeat(3000)}`, "unknown", "1.2.3.4.5"]
      ) {
        const { status, body } = await upgradeWith(server, forwardedFor);
        assert.match(status, /^HTTP\/1\.1 400 /, forwardedFor.slice(0, 20));
        assert.equal(JSON.parse(body).error.code, "invalid_forwarded_for");
      }
      assert.equal(await placesHeld(), 0);
      // The same header from the client's side of a proxy chain is never read.
      const behind = await connectFrom(server, `${"a".repeat(3000)}, 203.0.113.10`);
      assert.equal(behind.outcome, "welcome");
      await closeAll([behind.socket]);
      const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()));
      await socket.close();
    });
  } finally {
    await server.close();
  }
});
