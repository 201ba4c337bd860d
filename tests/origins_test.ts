/**
 * The one origin policy on the real service: `ALLOWED_ORIGINS` plus the service's own origin, for sockets
 * and CORS; a refused origin is logged at warn naming it, and counted.
 */
import assert from "node:assert/strict";
import { createLogger } from "../lib/log.ts";
import { counterTotal } from "../lib/metrics.ts";
import { nodeSocket, type NodeSocketOptions } from "./helpers/node_socket.ts";
import { randomUser, startTestServer, type TestServer } from "./helpers/server.ts";

/** Opens a `ws` socket with these headers; resolves with the HTTP status of the handshake (101 when open). */
async function handshake(server: TestServer, token: string, options: NodeSocketOptions): Promise<number> {
  const socket = nodeSocket(server.wsUrl, ["realtime.v1", token], options);
  const status = await socket.handshake;
  await socket.close();
  return status;
}

Deno.test("[origins] the service's own origin is allowed beside ALLOWED_ORIGINS; others are refused, logged and counted", async (t) => {
  const lines: string[] = [];
  const server = await startTestServer({
    env: { ALLOWED_ORIGINS: "https://app.example", LOG_LEVEL: "warn" },
    log: createLogger("warn", {}, (line) => lines.push(line)),
  });
  const refusals = () =>
    counterTotal(server.service.metrics.snapshot(), "realtime_auth_failures_total", { reason: "origin" });
  try {
    const user = randomUser();
    await t.step("sockets from the service's own origin and from a listed origin open", async () => {
      const own = `http://127.0.0.1:${server.port}`;
      assert.equal(await handshake(server, await server.socketToken(user), { origin: own }), 101);
      assert.equal(
        await handshake(server, await server.socketToken(user), { origin: "https://app.example" }),
        101,
      );
    });

    await t.step(
      "behind a TLS-terminating proxy: an https page at the Host the browser addressed",
      async () => {
        const headers = { host: "realtime.example" };
        const token = await server.socketToken(user);
        assert.equal(await handshake(server, token, { origin: "https://realtime.example", headers }), 101);
        // Another host's page is not the service, whatever Host says.
        assert.equal(await handshake(server, token, { origin: "https://other.example", headers }), 403);
      },
    );

    await t.step("another origin gets 403, one warn line naming it, and a count", async () => {
      const before = refusals();
      lines.length = 0;
      const token = await server.socketToken(user);
      assert.equal(await handshake(server, token, { origin: "https://evil.example" }), 403);
      assert.equal(refusals(), before + 1);
      const refused = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "Origin refused");
      assert.equal(refused.length, 1);
      assert.equal(refused[0].level, "warn");
      assert.equal(refused[0].origin, "https://evil.example");
      assert.equal(refused[0].check, "websocket");
    });

    await t.step("CORS answers the listed and the own origin, not another", async () => {
      const preflight = (origin: string) =>
        fetch(`${server.url}/api/notifications`, {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "GET" },
        });
      for (const origin of ["https://app.example", `http://127.0.0.1:${server.port}`]) {
        const res = await preflight(origin);
        await res.body?.cancel();
        assert.equal(res.headers.get("access-control-allow-origin"), origin);
        assert.equal(res.headers.get("access-control-allow-credentials"), "true");
      }
      const evil = await preflight("https://evil.example");
      await evil.body?.cancel();
      assert.equal(evil.headers.get("access-control-allow-origin"), null);
    });
  } finally {
    await server.close();
  }
});
