/**
 * The pages under their Content-Security-Policy in real Chromium: `/demo` with its widget and `/admin` work
 * with no violation reported, and another site cannot frame `/admin` (its Disconnect button cannot be
 * clickjacked).
 */
import assert from "node:assert/strict";
import { DEMO_USERS } from "../lib/dev/demo_users.ts";
import { cspViolations, recordCspViolations } from "./helpers/csp.ts";
import { launchBrowser, skipBrowserTests } from "./helpers/browser.ts";
import { startTestServer } from "./helpers/server.ts";

Deno.test({
  name: "[browser] CSP: /demo's widget and /admin work with no violation; /admin cannot be framed",
  ignore: skipBrowserTests(),
  async fn(t) {
    const server = await startTestServer({
      env: { REALTIME_ENV: "development", KV_PATH: ":memory:", ALLOWED_ORIGINS: "https://app.example" },
    });
    // Another site that tries to frame the panel.
    const framer = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () =>
        new Response(`<!doctype html><title>Framer</title><iframe src="${server.url}/admin"></iframe>`, {
          headers: { "content-type": "text/html; charset=utf-8" },
        }),
    );
    const browser = await launchBrowser();
    try {
      await browser.context.addInitScript(recordCspViolations);
      const page = await browser.context.newPage();
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(`pageerror ${error.message}`));
      page.on("console", (message) => {
        // The favicon is not this test's business; a CSP refusal is reported as a console error too.
        if (message.type() === "error" && !/favicon|status of 40[134]/.test(message.text())) {
          problems.push(`console ${message.text()}`);
        }
      });
      const widgetStatus = () =>
        page.waitForFunction(
          () =>
            document.querySelector("jasaweb-notifications")?.shadowRoot?.querySelector("[part=status]")
              ?.textContent === "Connected",
          undefined,
          { timeout: 10_000 },
        );

      await t.step("/demo: sign in, the widget connects and shows a sample event", async () => {
        await page.goto(`${server.url}/demo`);
        await page.selectOption('select[aria-label="Demo user"]', "client-budi");
        await page.waitForSelector("jasaweb-notifications", { timeout: 10_000 });
        await widgetStatus();
        await page.click('button[data-event="announcement.published"]');
        await page.locator("jasaweb-notifications [part=toast]").first().waitFor({ timeout: 5000 });
        assert.deepEqual(await cspViolations(page), []);
      });

      await t.step(
        "/admin: the dev sign-in (an inline script with the nonce) and the live panel",
        async () => {
          await browser.context.clearCookies(); // signed out: the 401 page offers the dev sign-in
          await page.goto(`${server.url}/admin`);
          const admin = DEMO_USERS.find((u) => u.role === "admin")!;
          await page.click(`button[data-user="${admin.userId}"]`);
          await page.waitForSelector('[data-link="live"]', { timeout: 10_000 });
          assert.deepEqual(await cspViolations(page), []);
        },
      );
      assert.deepEqual(problems, []);

      await t.step("another site's frame of /admin is refused by frame-ancestors 'none'", async () => {
        const framing = await browser.context.newPage();
        const refused: string[] = [];
        framing.on("console", (message) => refused.push(message.text()));
        await framing.goto(`http://127.0.0.1:${framer.addr.port}/`);
        const frame = framing.frames().find((f) => f !== framing.mainFrame());
        assert.ok(frame);
        await framing.waitForFunction(() => true); // let the frame settle
        assert.notEqual(frame.url(), `${server.url}/admin`, "the panel did not load in the frame");
        assert.ok(refused.some((text) => /frame-ancestors/.test(text)), refused.join("\n"));
      });
    } finally {
      await browser.close();
      await framer.shutdown();
      await server.close();
    }
  },
});
