/**
 * Bounded REST on the real service: per-user request budgets (429 with `Retry-After`), and an unread listing
 * whose KV reads do not grow with the stream.
 */
import assert from "node:assert/strict";
import { counterTotal } from "../lib/metrics.ts";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { fillStream } from "./helpers/stored.ts";

Deno.test("[rest] past API_RATE_PER_MINUTE a user gets 429 rate_limited with Retry-After; others do not", async () => {
  const server = await startTestServer({ env: { API_RATE_PER_MINUTE: "5" } });
  try {
    const [greedy, bystander] = [randomUser(), randomUser()];
    const bearer = async (user: typeof greedy) => ({
      authorization: `Bearer ${await server.sessionToken(user)}`,
    });
    const headers = await bearer(greedy);
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${server.url}/api/notifications`, { headers });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    const mint = await fetch(`${server.url}/api/websocket/token`, { method: "POST", headers });
    assert.equal(mint.status, 200, "token minting shares the same budget");
    await mint.body?.cancel();

    const limited = [
      await fetch(`${server.url}/api/notifications`, { headers }),
      await fetch(`${server.url}/api/notifications/read-all`, { method: "POST", headers }),
      await fetch(`${server.url}/api/websocket/token`, { method: "POST", headers }),
    ];
    for (const res of limited) {
      assert.equal(res.status, 429);
      const retryAfter = Number(res.headers.get("retry-after"));
      assert.ok(
        Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 12,
        `Retry-After ${retryAfter}`,
      );
      const body = await res.json();
      assert.equal(body.error.code, "rate_limited");
      assert.match(body.error.message, /try again in \d+ s/);
    }
    const snapshot = server.service.metrics.snapshot();
    assert.equal(counterTotal(snapshot, "realtime_rate_limited_total", { kind: "api" }), 3);

    const other = await fetch(`${server.url}/api/notifications`, { headers: await bearer(bystander) });
    assert.equal(other.status, 200);
    await other.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("[rest] unread listing after read-all at 3,000 notifications reads a bounded number of KV entries", async (t) => {
  const server = await startTestServer();
  try {
    const user = randomUser();
    const headers = { authorization: `Bearer ${await server.sessionToken(user)}` };
    await fillStream(server.service.parts.store, "all", 3000);
    const examined = () =>
      counterTotal(server.service.metrics.snapshot(), "realtime_notification_list_entries_total");
    const list = async (query: string) => {
      const before = examined();
      const res = await fetch(`${server.url}/api/notifications${query}`, { headers });
      assert.equal(res.status, 200);
      return { page: await res.json(), examined: examined() - before };
    };

    await t.step("before read-all: a page reads about a page", async () => {
      const { page, examined } = await list("?unread=1&limit=20");
      assert.equal(page.items.length, 20);
      assert.equal(page.unreadCount, 3000);
      assert.ok(examined <= 50, `examined ${examined}`);
    });

    await t.step("after read-all: the unread page reads no notification", async () => {
      const res = await fetch(`${server.url}/api/notifications/read-all`, { method: "POST", headers });
      assert.deepEqual(await res.json(), { updated: 3000 });
      const { page, examined } = await list("?unread=1");
      assert.deepEqual(page.items, []);
      assert.equal(page.nextCursor, null);
      assert.equal(page.unreadCount, 0);
      // The read marks of the user's two streams and one empty probe above each: nothing of the stream.
      assert.ok(examined <= 4, `examined ${examined}`);
    });

    await t.step("50 concurrent unread listings each read as little", async () => {
      const before = examined();
      const pages = await Promise.all(
        Array.from({ length: 50 }, () => fetch(`${server.url}/api/notifications?unread=1`, { headers })),
      );
      for (const res of pages) assert.deepEqual((await res.json()).items, []);
      assert.ok(examined() - before <= 50 * 4, `examined ${examined() - before}`);
    });
  } finally {
    await server.close();
  }
});
