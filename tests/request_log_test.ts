import assert from "node:assert/strict";
import { createLogger } from "../lib/log.ts";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { openSocket } from "./helpers/socket.ts";

Deno.test("[logs] one JSON access line per request, with a request id and no token anywhere", async (t) => {
  const lines: string[] = [];
  const server = await startTestServer({ log: createLogger("info", {}, (line) => lines.push(line)) });
  const entries = () => lines.map((l) => JSON.parse(l));
  try {
    const user = randomUser();
    const session = await server.sessionToken(user);
    const socketToken = await server.socketToken(user);

    await t.step("a Bearer header and a ?token= URL are logged redacted", async () => {
      const res = await fetch(`${server.url}/api/notifications?limit=5&token=${socketToken}`, {
        headers: { authorization: `Bearer ${session}` },
      });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      const socket = await openSocket(`${server.wsUrl}?token=${socketToken}`);
      await socket.next("welcome");
      await socket.close();
      const access = entries().filter((e) => e.msg === "Request");
      const api = access.find((e) => e.path.startsWith("/api/notifications"));
      assert.equal(api.path, "/api/notifications?limit=5&token=[redacted]");
      assert.equal(api.status, 200);
      assert.equal(api.method, "GET");
      assert.equal(typeof api.durationMs, "number");
      assert.ok(access.some((e) => e.path === "/ws?token=[redacted]" && e.status === 101));
      const all = lines.join("\n");
      for (const secret of [session, socketToken, session.split(".")[2], socketToken.split(".")[1]]) {
        assert.ok(!all.includes(secret), "a token leaked into the logs");
      }
    });

    await t.step("X-Request-Id is honoured, generated when absent, replaced when unsafe", async () => {
      const ask = async (id?: string) => {
        const res = await fetch(`${server.url}/health`, { headers: id ? { "x-request-id": id } : {} });
        await res.body?.cancel();
        return res.headers.get("x-request-id");
      };
      assert.equal(await ask("trace-42"), "trace-42");
      assert.ok(entries().some((e) => e.msg === "Request" && e.requestId === "trace-42"));
      assert.match((await ask()) ?? "", /^[0-9a-f-]{36}$/);
      const forged = await ask('x" level="error');
      assert.notEqual(forged, 'x" level="error');
      assert.match(forged ?? "", /^[0-9a-f-]{36}$/);
    });
  } finally {
    await server.close();
  }
});

Deno.test("[logs] LOG_LEVEL=warn keeps successful requests out of the log", async () => {
  const lines: string[] = [];
  const server = await startTestServer({ log: createLogger("warn", {}, (line) => lines.push(line)) });
  try {
    const res = await fetch(`${server.url}/health`);
    await res.body?.cancel();
    assert.equal(lines.filter((l) => JSON.parse(l).msg === "Request").length, 0);
  } finally {
    await server.close();
  }
});
