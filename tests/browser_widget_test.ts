/**
 * The widget in real Chromium, embedded on a host page of another origin with the one-tag snippet: live
 * notifications, mark-read, and the status dot across a server restart with nothing lost.
 */
import assert from "node:assert/strict";
import { artifactPath, launchBrowser, skipBrowserTests } from "./helpers/browser.ts";
import { randomUser, startTestServer, type TestServer } from "./helpers/server.ts";
import { postEvent, projectChanged } from "./helpers/webhook.ts";

/** The host app: a page with the snippet and a token endpoint that asks the service for a socket token. */
function startHostApp(service: () => TestServer, sessionToken: () => Promise<string>) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const { pathname } = new URL(req.url);
    if (pathname === "/api/realtime-token" && req.method === "POST") {
      try {
        const res = await fetch(`${service().url}/api/websocket/token`, {
          method: "POST",
          headers: { authorization: `Bearer ${await sessionToken()}` },
        });
        const { token, connectionUrl } = await res.json();
        return Response.json({ token, connectionUrl });
      } catch {
        return Response.json({ error: "Realtime service unreachable" }, { status: 503 });
      }
    }
    if (pathname === "/") {
      return new Response(
        `<!doctype html><html><head><title>Host dashboard</title></head><body>
<h1>Host dashboard</h1>
<script>
  window.realtimeEvents = [];
  document.addEventListener("realtime:notification", (e) => realtimeEvents.push(e.detail));
  document.addEventListener("realtime:status", (e) => realtimeEvents.push(e.detail));
</script>
<script type="module" src="${service().url}/widget.js"></script>
<jasaweb-notifications token-url="/api/realtime-token"></jasaweb-notifications>
</body></html>`,
        { headers: { "content-type": "text/html; charset=utf-8" } },
      );
    }
    return new Response("Not found", { status: 404 });
  });
}

Deno.test({
  name:
    "[browser] widget on another origin: live notification, mark-read, offline and back with nothing lost",
  ignore: skipBrowserTests(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "jw-widget-" });
    const kvPath = `${dir}/realtime.kv`;
    const user = randomUser();
    let server: TestServer | null = null;
    const host = startHostApp(() => server!, () => server!.sessionToken(user));
    const hostOrigin = `http://127.0.0.1:${host.addr.port}`;
    const env = { ALLOWED_ORIGINS: hostOrigin };
    server = await startTestServer({ kvPath, env });
    const port = server.port;
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const widget = page.locator("jasaweb-notifications");
      const badge = widget.locator("[part=badge]");
      const statusIs = (label: string, timeout: number) =>
        page.waitForFunction(
          (text) =>
            document.querySelector("jasaweb-notifications")?.shadowRoot?.querySelector("[part=status]")
              ?.textContent === text,
          label,
          { timeout },
        );

      await t.step("the snippet renders the widget and connects", async () => {
        await page.goto(`${hostOrigin}/`);
        await statusIs("Connected", 10_000);
        assert.equal(await badge.isHidden(), true, "no badge at zero unread");
      });

      await t.step("a webhook's notification shows within a second, with a toast and a count", async () => {
        const sentAt = Date.now();
        const res = await postEvent(server!.url, projectChanged(user.userId, "in_progress", "Toko Batik"));
        assert.equal(res.status, 202);
        await res.body?.cancel();
        await widget.locator("[part=toast]", { hasText: "Toko Batik" }).waitFor({ timeout: 1000 });
        assert.ok(Date.now() - sentAt < 1000);
        assert.equal(await badge.textContent(), "1");
        assert.equal(await badge.getAttribute("aria-label"), "1 unread");
        const events = await page.evaluate(() =>
          (globalThis as unknown as { realtimeEvents: unknown[] }).realtimeEvents
        );
        assert.ok(events.some((e) => (e as { type?: string }).type === "project_update"));
        assert.ok(events.some((e) => (e as { status?: string }).status === "connected"));
        await widget.screenshot({ path: await artifactPath("widget-notification.png") });
      });

      await t.step("mark read (keyboard) lowers the count and the server agrees", async () => {
        await widget.locator("button.bell").focus();
        await page.keyboard.press("Enter");
        const item = widget.locator("[part=item]").first();
        await item.waitFor();
        await page.screenshot({ path: await artifactPath("widget-open.png") });
        await item.getByRole("button", { name: /^Mark read: / }).click();
        await badge.waitFor({ state: "hidden", timeout: 2000 });
        const token = await server!.sessionToken(user);
        const list = await fetch(`${server!.url}/api/notifications`, {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal((await list.json()).unreadCount, 0);
      });

      await t.step("the dot turns Offline when the server stops", async () => {
        await server!.close();
        await statusIs("Offline", 10_000);
        await widget.screenshot({ path: await artifactPath("widget-offline.png") });
      });

      await t.step(
        "a notification accepted elsewhere meanwhile appears after the restart, once",
        async () => {
          // Another isolate on the same KV takes a webhook while ours is down.
          const other = await startTestServer({ kvPath, env });
          const res = await postEvent(other.url, projectChanged(user.userId, "completed", "Kopi Nusantara"));
          assert.equal(res.status, 202);
          await res.body?.cancel();
          await other.close();

          server = await startTestServer({ kvPath, env, port });
          await statusIs("Connected", 20_000);
          await widget.locator("[part=item]", { hasText: "Kopi Nusantara" }).waitFor({ timeout: 5000 });
          assert.equal(await badge.textContent(), "1");
          assert.equal(await widget.locator("[part=item]").count(), 2, "each notification listed once");
          await widget.screenshot({ path: await artifactPath("widget-resumed.png") });
        },
      );
    } finally {
      await browser.close();
      await server?.close().catch(() => {});
      await host.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
