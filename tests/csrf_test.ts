/**
 * CSRF on the real service: a state-changing request authenticated by the `auth_token` cookie must come from
 * an allowed origin or the service's own; bearer requests and non-browser clients are unaffected.
 */
import assert from "node:assert/strict";
import { counterTotal } from "../lib/metrics.ts";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { connectWelcomed } from "./helpers/socket.ts";
import { postEvent, projectChanged } from "./helpers/webhook.ts";

Deno.test("[csrf] cookie-authenticated writes: 403 from another site, 200 from an allowed or the own origin", async (t) => {
  const server = await startTestServer({ env: { ALLOWED_ORIGINS: "https://app.example" } });
  const own = `http://127.0.0.1:${server.port}`;
  try {
    const user = randomUser();
    const session = await server.sessionToken(user);
    const unread = async () =>
      (await (await fetch(`${server.url}/api/notifications`, {
        headers: { authorization: `Bearer ${session}` },
      })).json()).unreadCount as number;
    const readAll = (headers: Record<string, string>) =>
      fetch(`${server.url}/api/notifications/read-all`, {
        method: "POST",
        headers: { cookie: `auth_token=${session}`, "content-type": "text/plain", ...headers },
        body: "{}",
      });
    const publish = async () => {
      assert.equal((await postEvent(server.url, projectChanged(user.userId))).status, 202);
    };

    await t.step(
      "Origin https://evil.example with text/plain: 403 JSON, nothing marked read, counted",
      async () => {
        await publish();
        const refusals = () =>
          counterTotal(server.service.metrics.snapshot(), "realtime_auth_failures_total", {
            reason: "origin",
          });
        const before = refusals();
        const res = await readAll({ origin: "https://evil.example" });
        assert.equal(res.status, 403);
        const body = await res.json();
        assert.equal(body.error.code, "origin_not_allowed");
        assert.match(body.error.message, /evil\.example/);
        assert.equal(await unread(), 1);
        assert.equal(refusals(), before + 1);
      },
    );

    await t.step("an allowed origin and the service's own origin: 200", async () => {
      const allowed = await readAll({ origin: "https://app.example" });
      assert.equal(allowed.status, 200);
      assert.deepEqual(await allowed.json(), { updated: 1 });
      assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example");
      await publish();
      const same = await readAll({ origin: own });
      assert.equal(same.status, 200);
      assert.deepEqual(await same.json(), { updated: 1 });
    });

    await t.step(
      "without Origin, Sec-Fetch-Site decides; with neither header (not a browser) it passes",
      async () => {
        await publish();
        for (const site of ["cross-site", "same-site"]) {
          const res = await readAll({ "sec-fetch-site": site });
          assert.equal(res.status, 403, site);
          await res.body?.cancel();
        }
        assert.equal(await unread(), 1);
        for (const headers of [{ "sec-fetch-site": "same-origin" }, {}] as Record<string, string>[]) {
          const res = await readAll(headers);
          assert.equal(res.status, 200, JSON.stringify(headers));
          await res.body?.cancel();
        }
      },
    );

    await t.step("Origin: null (a sandboxed frame, a redirect) is refused", async () => {
      const res = await readAll({ origin: "null" });
      assert.equal(res.status, 403);
      await res.body?.cancel();
    });

    await t.step("a bearer token is unaffected by the origin", async () => {
      await publish();
      const res = await fetch(`${server.url}/api/notifications/read-all`, {
        method: "POST",
        headers: { authorization: `Bearer ${session}`, origin: "https://evil.example" },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { updated: 1 });
    });

    await t.step("mark-one-read, token minting and the admin's Disconnect are guarded too", async () => {
      await publish();
      const list = await (await fetch(`${server.url}/api/notifications`, {
        headers: { authorization: `Bearer ${session}` },
      })).json();
      const cookieFromEvil = { cookie: `auth_token=${session}`, origin: "https://evil.example" };
      const markOne = await fetch(`${server.url}/api/notifications/${list.items[0].id}/read`, {
        method: "POST",
        headers: cookieFromEvil,
      });
      assert.equal(markOne.status, 403);
      await markOne.body?.cancel();
      assert.equal(await unread(), 1);
      const mint = await fetch(`${server.url}/api/websocket/token`, {
        method: "POST",
        headers: cookieFromEvil,
      });
      assert.equal(mint.status, 403);
      await mint.body?.cancel();

      const admin = await server.sessionToken(randomUser("admin"));
      const { socket, welcome } = await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()));
      const target = `${server.url}/api/admin/websocket/connections/${welcome.data.connectionId}`;
      const refused = await fetch(target, {
        method: "DELETE",
        headers: { cookie: `auth_token=${admin}`, origin: "https://evil.example" },
      });
      assert.equal(refused.status, 403);
      await refused.body?.cancel();
      socket.send({ type: "ping", id: "still-open" });
      assert.equal((await socket.next("pong")).data.replyTo, "still-open");
      const allowed = await fetch(target, {
        method: "DELETE",
        headers: { cookie: `auth_token=${admin}`, origin: own },
      });
      assert.equal(allowed.status, 204);
      assert.deepEqual(await socket.closed, { code: 4500, reason: "Disconnected by administrator" });
    });
  } finally {
    await server.close();
  }
});
