import assert from "node:assert/strict";
import { DEMO_USERS } from "../lib/dev/demo_users.ts";
import { artifactPath, launchBrowser, skipBrowserTests } from "./helpers/browser.ts";
import { freePort } from "./helpers/process.ts";
import { randomUser, startTestServer, type TestServer } from "./helpers/server.ts";
import { connectWelcomed, type TestSocket } from "./helpers/socket.ts";

async function openClient(server: TestServer) {
  const { socket, welcome } = await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()));
  return { socket, id: welcome.data.connectionId as string };
}

Deno.test({
  name: "[browser] /admin: 401 and 403 pages, dev sign-in, live figures, Disconnect closes 4500",
  ignore: skipBrowserTests(),
  async fn(t) {
    const port = freePort();
    const server = await startTestServer({ port, env: { ALLOWED_ORIGINS: `http://127.0.0.1:${port}` } });
    const browser = await launchBrowser();
    const sockets: TestSocket[] = [];
    try {
      await t.step("401 page without a session, 403 page for a client", async () => {
        const anonymous = await fetch(`${server.url}/admin`);
        assert.equal(anonymous.status, 401);
        assert.match(await anonymous.text(), /Sign in required/);
        const client = await server.sessionToken(randomUser("client"));
        const forbidden = await fetch(`${server.url}/admin`, { headers: { cookie: `auth_token=${client}` } });
        assert.equal(forbidden.status, 403);
        assert.match(await forbidden.text(), /Admins only/);
      });

      const page = await browser.context.newPage();
      await t.step("the dev sign-in sets the cookie and the panel goes live", async () => {
        await page.goto(`${server.url}/admin`);
        const admin = DEMO_USERS.find((u) => u.role === "admin")!;
        await page.click(`button[data-user="${admin.userId}"]`);
        await page.waitForSelector('[data-link="live"]', { timeout: 10_000 });
        assert.equal(await page.textContent('[data-check="kv"] td:nth-child(2)'), "pass");
      });

      await t.step("activeConnections follows new sockets within two seconds", async () => {
        const figure = '[data-metric="activeConnections"]';
        // Wait for the panel's own socket to be counted, so the baseline is settled.
        await page.waitForFunction((sel) => Number(document.querySelector(sel)?.textContent) >= 1, figure, {
          timeout: 5000,
        });
        const before = Number(await page.textContent(figure));
        for (let i = 0; i < 2; i++) sockets.push((await openClient(server)).socket);
        await page.waitForFunction(
          ([sel, want]) => Number(document.querySelector(sel as string)?.textContent) === want,
          [figure, before + 2] as const,
          { timeout: 2000 },
        );
        const clients = await page.textContent('[data-metric="connectionsByRole"][data-role="client"]');
        assert.equal(Number(clients), 2);
        await page.screenshot({ path: await artifactPath("admin_panel.png"), fullPage: true });
      });

      await t.step("Disconnect on a row closes that socket with 4500", async () => {
        const target = await openClient(server);
        sockets.push(target.socket);
        const row = `[data-connection-id="${target.id}"]`;
        await page.waitForSelector(row, { timeout: 5000 });
        await page.click(`${row} button`);
        assert.deepEqual(await target.socket.closed, { code: 4500, reason: "Disconnected by administrator" });
        await page.waitForSelector(row, { state: "detached", timeout: 5000 });
      });
    } finally {
      await Promise.all(sockets.map((s) => s.close()));
      await browser.close();
      await server.close();
    }
  },
});
