/**
 * The live status panel on a production start whose `ALLOWED_ORIGINS` does not list the service's own
 * origin (the normal case: the platform's app is listed, the panel is opened on the service's host). The
 * panel's socket and API calls come from the service's own origin, which is always allowed.
 */
import assert from "node:assert/strict";
import { signSessionToken } from "../lib/dev/demo_users.ts";
import { cspViolations, recordCspViolations } from "./helpers/csp.ts";
import { launchBrowser, skipBrowserTests } from "./helpers/browser.ts";
import { startServiceProcess } from "./helpers/process.ts";
import { randomUser, TEST_SESSION_SECRET } from "./helpers/server.ts";
import { connectWelcomed, type TestSocket } from "./helpers/socket.ts";

Deno.test({
  name:
    "[browser] /admin on a production start without its own origin in ALLOWED_ORIGINS is live; Disconnect closes 4500",
  ignore: skipBrowserTests(),
  async fn(t) {
    const service = await startServiceProcess({
      kvPath: ":memory:",
      env: { ALLOWED_ORIGINS: "https://app.example" },
    });
    const browser = await launchBrowser();
    const sockets: TestSocket[] = [];
    const openClient = async () => {
      const opened = await connectWelcomed(service.wsUrl, await service.socketToken(randomUser()));
      sockets.push(opened.socket);
      return { socket: opened.socket, id: opened.welcome.data.connectionId as string };
    };
    try {
      const admin = await signSessionToken(TEST_SESSION_SECRET, randomUser("admin"));
      await browser.context.addCookies([{ name: "auth_token", value: admin, url: service.url }]);
      await browser.context.addInitScript(recordCspViolations);
      const page = await browser.context.newPage();
      const figure = '[data-metric="activeConnections"]';

      await t.step("the panel opens and its socket goes live", async () => {
        const res = await page.goto(`${service.url}/admin`);
        assert.equal(res?.status(), 200);
        await page.waitForSelector('[data-link="live"]', { timeout: 10_000 });
        // The panel's own socket is counted once the next metrics frame arrives.
        await page.waitForFunction((sel) => Number(document.querySelector(sel)?.textContent) >= 1, figure, {
          timeout: 5000,
        });
      });

      await t.step("active connections follow two new sockets within 3 s", async () => {
        const before = Number(await page.textContent(figure));
        await openClient();
        await openClient();
        await page.waitForFunction(
          ([sel, want]) => Number(document.querySelector(sel as string)?.textContent) === want,
          [figure, before + 2] as const,
          { timeout: 3000 },
        );
      });

      await t.step("its Disconnect button closes that socket 4500", async () => {
        const target = await openClient();
        const row = `[data-connection-id="${target.id}"]`;
        await page.waitForSelector(row, { timeout: 5000 });
        await page.click(`${row} button`);
        assert.deepEqual(await target.socket.closed, { code: 4500, reason: "Disconnected by administrator" });
        await page.waitForSelector(row, { state: "detached", timeout: 5000 });
      });

      await t.step("under the page's CSP nothing was blocked, and no origin was refused", async () => {
        assert.deepEqual(await cspViolations(page), []);
        assert.doesNotMatch(service.output(), /Origin refused/);
      });
    } finally {
      await Promise.all(sockets.map((s) => s.close()));
      await browser.close();
      await service.stop();
    }
  },
});
