/**
 * lib/client/realtime_client.ts against the real server over real sockets: a stream of notifications across
 * a server restart (same port, same KV file) arrives complete, in order per stream, and once.
 */
import assert from "node:assert/strict";
import { effect } from "@preact/signals";
import { createRealtimeClient, type RealtimeClient } from "../lib/client/realtime_client.ts";
import { eventually } from "./helpers/eventually.ts";
import { pace } from "./helpers/pace.ts";
import { randomUser, startTestServer, type TestServer } from "./helpers/server.ts";
import { postEvent, projectChanged } from "./helpers/webhook.ts";

/** Polls the client's state (signals would do, but a poll keeps this independent of what changes). */
function until(client: RealtimeClient, check: () => boolean, what: string, ms = 10_000): Promise<boolean> {
  return eventually(check, ms, () => `${what}; status ${client.status.value}`);
}

Deno.test("[client] a stream across a server restart: nothing lost, nothing doubled", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "jw-client-" });
  const kvPath = `${dir}/realtime.kv`;
  const user = randomUser();
  let server: TestServer = await startTestServer({ kvPath });
  const port = server.port;
  const client = createRealtimeClient({
    getToken: async () => ({ token: await server.socketToken(user), connectionUrl: server.wsUrl }),
    backoffBaseMs: 50,
    backoffMaxMs: 200,
    keep: 100,
  });
  const received: number[] = [];
  const statuses: string[] = [];
  const stopWatching = effect(() => void statuses.push(client.status.value));
  client.onNotification((frame) => received.push(frame.seq));
  const total = 40;
  try {
    await t.step("connects and loads an empty list", async () => {
      await until(client, () => client.status.value === "connected", "connected");
      statuses.length = 0;
      await client.load();
      assert.equal(client.unreadCount.value, 0);
    });

    await t.step("40 webhooks, with a restart after the 15th, each arrives exactly once", async () => {
      for (let i = 1; i <= total; i++) {
        const res = await postEvent(server.url, projectChanged(user.userId, "in_progress", `Project ${i}`));
        assert.equal(res.status, 202);
        await res.body?.cancel();
        if (i === 15) {
          await server.close();
          server = await startTestServer({ kvPath, port });
        }
      }
      await until(client, () => received.length >= total, `${total} notifications`);
      // Give a late duplicate the chance to show up before counting: the absence of a frame is no event to
      // await, so a grace of real time it is.
      await pace(200);
      // Live ones may overtake the replay right after the reconnect; what counts is each seq exactly once.
      assert.equal(received.length, total);
      assert.deepEqual(received.toSorted((a, b) => a - b), Array.from({ length: total }, (_, i) => i + 1));
      assert.ok(
        statuses.includes("connecting") || statuses.includes("offline"),
        "the restart dropped the link",
      );
      assert.equal(client.unreadCount.value, total);
      assert.equal(new Set(client.notifications.value.map((n) => n.id)).size, total);
      assert.deepEqual(client.positions()[`user:${user.userId}`], total);
    });

    await t.step("mark-read and mark-all-read use the socket token against the API", async () => {
      await client.markRead(client.notifications.value[0].id);
      assert.equal(client.unreadCount.value, total - 1);
      await client.markAllRead();
      assert.equal(client.unreadCount.value, 0);
      const session = await server.sessionToken(user);
      const res = await fetch(`${server.url}/api/notifications`, {
        headers: { authorization: `Bearer ${session}` },
      });
      assert.equal((await res.json()).unreadCount, 0);
    });
  } finally {
    stopWatching();
    client.dispose();
    await server.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("[http] /client.js and /widget.js are cacheable ES modules for any origin; /demo is dev only", async (t) => {
  const server = await startTestServer();
  const production = await startTestServer({ env: { DEMO_USERS: "off" } });
  try {
    await t.step("/client.js exports createRealtimeClient, with an ETag that revalidates", async () => {
      const res = await fetch(`${server.url}/client.js`, { headers: { origin: "https://host.example" } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /javascript/);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      assert.match(res.headers.get("cache-control") ?? "", /public, max-age=\d+/);
      assert.match(await res.text(), /export\{.*createRealtimeClient.*\}/s);
      const again = await fetch(`${server.url}/client.js`, {
        headers: { "if-none-match": res.headers.get("etag")! },
      });
      assert.equal(again.status, 304);
      await again.body?.cancel();
    });

    await t.step("/widget.js defines the custom element", async () => {
      const res = await fetch(`${server.url}/widget.js`);
      assert.match(await res.text(), /jasaweb-notifications/);
    });

    await t.step("/demo renders the island with its props, and an unknown island is 404", async () => {
      const res = await fetch(`${server.url}/demo`);
      const html = await res.text();
      assert.equal(res.status, 200);
      assert.match(html, /<script type="application\/json" id="island-props">/);
      assert.match(html, /src="\/islands\/demo_dashboard_entry\.js"/);
      const missing = await fetch(`${server.url}/islands/nothing_here.js`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    });

    await t.step("with demo mode off, /demo and the dev endpoints are 404", async () => {
      for (const path of ["/demo", "/api/dev/dashboard"]) {
        const res = await fetch(`${production.url}${path}`);
        assert.equal(res.status, 404, path);
        await res.body?.cancel();
      }
    });
  } finally {
    await server.close();
    await production.close();
  }
});
