import assert from "node:assert/strict";
import { Hono } from "hono";
import WebSocketNode from "ws";
import type { AppEnv } from "./env.ts";
import { requestId } from "./request_id.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An app with only `requestId()` in front of a route that answers the id it saw. */
function appWithRequestId() {
  return new Hono<AppEnv>().use(requestId()).get("/", (c) => c.text(c.get("requestId")));
}

async function idsFor(offered?: string) {
  const headers: Record<string, string> = offered === undefined ? {} : { "x-request-id": offered };
  const res = await appWithRequestId().request("/", { headers });
  return { echoed: res.headers.get("x-request-id"), seen: await res.text() };
}

Deno.test("requestId() keeps the caller's id when it is 1–128 characters of [A-Za-z0-9_.:@-]", async () => {
  for (const offered of ["trace-42", "a", "svc.gateway:4f2a@edge_1", "x".repeat(128)]) {
    assert.deepEqual(await idsFor(offered), { echoed: offered, seen: offered });
  }
});

Deno.test("requestId() answers a fresh UUID for a missing or unsafe id, the same one the route saw", async () => {
  const unsafe = [undefined, "", "x".repeat(129), "abc=", "two words", 'x" level="error', "id\u00e9"];
  const fresh = new Set<string>();
  for (const offered of unsafe) {
    const { echoed, seen } = await idsFor(offered);
    assert.match(echoed ?? "", UUID, `kept ${JSON.stringify(offered)}`);
    assert.equal(seen, echoed);
    fresh.add(seen);
  }
  assert.equal(fresh.size, unsafe.length, "a fresh id was reused");
});

Deno.test("requestId() sets the id on a raw response too: the WebSocket upgrade's 101", async () => {
  const app = new Hono<AppEnv>().use(requestId()).get("/ws", (c) => {
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
    socket.onopen = () => socket.close(1000, "done");
    return response;
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  try {
    const client = new WebSocketNode(`ws://127.0.0.1:${server.addr.port}/ws`, {
      headers: { "x-request-id": "upgrade-7" },
    });
    const upgraded = new Promise<string | string[] | undefined>((resolve) =>
      client.once("upgrade", (res) => resolve(res.headers["x-request-id"]))
    );
    const closed = new Promise((resolve) => client.once("close", resolve));
    assert.equal(await upgraded, "upgrade-7");
    await closed;
  } finally {
    await server.shutdown();
  }
});
