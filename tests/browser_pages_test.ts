/**
 * Every page of the service in real Chromium, audited by axe-core against WCAG 2.0/2.1 A and AA (plus axe's
 * best practices: one `main` landmark, content inside landmarks, no empty table header): the landing page
 * (dev and production), the 404 page, the `/admin` 401 and 403 pages, the live status panel with a connection
 * row and events in its feed, and `/demo` with the widget open, an unread notification and a toast (in the
 * light and the dark colour scheme, which it has styles for). On the way: no page logs a console error other
 * than its own status line, no subresource (favicon included) fails, and the 403 page's dev sign-in turns a
 * client into an admin.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { DEMO_USERS } from "../lib/dev/demo_users.ts";
import { axeViolations, describeViolations, WCAG_AA_TAGS } from "./helpers/axe.ts";
import { launchBrowser, skipBrowserTests } from "./helpers/browser.ts";
import { freePort } from "./helpers/process.ts";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { connectWelcomed, type TestSocket } from "./helpers/socket.ts";

const TAGS = [...WCAG_AA_TAGS, "best-practice"];
const sari = DEMO_USERS.find((u) => u.userId === "client-sari")!;
const admin = DEMO_USERS.find((u) => u.role === "admin")!;

/**
 * Everything a page reports going wrong: console errors, uncaught exceptions, failed requests, 4xx/5xx answers
 * to its own requests. `goto` leaves the current page for another: a request of the page being left that the
 * browser cancels meanwhile (`net::ERR_ABORTED`) is the test's doing, not the page's, so it is not counted;
 * one the page aborts itself (a reload before an answer was read) still is.
 */
function watchProblems(page: Page) {
  const problems: string[] = [];
  let leaving = false;
  page.on("console", (m) => {
    // Chromium reports a document's own error status (a 401, 403 or 404 page) as a console error.
    if (m.type() === "error" && !/^Failed to load resource: .* (401|403|404)/.test(m.text())) {
      problems.push(`console: ${m.text()} (${m.location().url})`);
    }
  });
  page.on("pageerror", (e) => problems.push(`exception: ${e.message}`));
  page.on("requestfailed", (r) => {
    const error = r.failure()?.errorText;
    if (leaving && error === "net::ERR_ABORTED" && !r.isNavigationRequest()) return;
    problems.push(`failed: ${r.url()} ${error}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && !r.request().isNavigationRequest()) problems.push(`${r.status()}: ${r.url()}`);
  });
  async function goto(url: string) {
    leaving = true;
    try {
      return await page.goto(url);
    } finally {
      leaving = false;
    }
  }
  return { problems, goto };
}

async function assertAccessible(page: Page, what: string) {
  const violations = await axeViolations(page, TAGS);
  assert.equal(violations.length, 0, `${what}: axe found\n${describeViolations(violations)}`);
}

async function assertIconsDecode(page: Page) {
  const sizes = await page.evaluate(() =>
    Promise.all(["/favicon.ico", "/favicon.svg"].map(async (src) => {
      const image = new Image();
      image.src = src;
      await image.decode();
      return [image.naturalWidth, image.naturalHeight];
    }))
  );
  assert.deepEqual(sizes, [[32, 32], [32, 32]]);
}

Deno.test({
  name: "[browser] every page passes axe-core's WCAG 2 A and AA rules, and none logs an error",
  ignore: skipBrowserTests(),
  async fn(t) {
    const port = freePort();
    const server = await startTestServer({ port, env: { ALLOWED_ORIGINS: `http://127.0.0.1:${port}` } });
    const production = await startTestServer({ env: { DEMO_USERS: "off" } });
    const browser = await launchBrowser();
    const sockets: TestSocket[] = [];
    const page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    const { problems, goto } = watchProblems(page);
    const signInAs = async (token: string) => {
      // Leave the page first: a live panel refreshing its connections between the two cookies would ask as
      // nobody and be answered 401, a problem of the test's making.
      await goto("about:blank");
      await browser.context.clearCookies();
      await browser.context.addCookies([{ name: "auth_token", value: token, url: server.url }]);
    };
    try {
      await t.step("the landing page, in development and in production", async () => {
        await goto(`${server.url}/`);
        await assertAccessible(page, "/ (development)");
        await assertIconsDecode(page);
        await goto(`${production.url}/`);
        await assertAccessible(page, "/ (production)");
      });

      await t.step("the 404 page", async () => {
        const res = await goto(`${server.url}/no/such/page`);
        assert.equal(res?.status(), 404);
        await page.getByRole("heading", { name: "Page not found" }).waitFor();
        await assertAccessible(page, "404");
      });

      await t.step("the 401 page", async () => {
        const res = await goto(`${server.url}/admin`);
        assert.equal(res?.status(), 401);
        await assertAccessible(page, "401");
      });

      await t.step("the 403 page, whose dev sign-in as an admin opens the panel", async () => {
        await signInAs(await server.sessionToken(randomUser("client")));
        const res = await goto(`${server.url}/admin`);
        assert.equal(res?.status(), 403);
        await assertAccessible(page, "403");
        await page.getByRole("button", { name: `Sign in as ${admin.name} (admin)` }).click();
        await page.waitForSelector('[data-link="live"]');
        assert.equal(await page.textContent(".who"), admin.name);
      });

      await t.step("the live status panel with a connection and its events", async () => {
        sockets.push((await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()))).socket);
        await page.waitForSelector("[data-connection-id]");
        await page.waitForSelector('.feed [data-event="connected"]');
        await assertAccessible(page, "/admin");
      });

      for (const colorScheme of ["light", "dark"] as const) {
        await t.step(
          `/demo with the widget open, an unread notification and a toast (${colorScheme})`,
          async () => {
            await page.emulateMedia({ colorScheme });
            await signInAs(await server.sessionToken(sari));
            await goto(`${server.url}/demo`);
            const widget = page.locator("jasaweb-notifications");
            await widget.locator("[part=status]", { hasText: "Connected" }).waitFor();
            await page.click('button[data-event="message.sent"]');
            await widget.locator("[part=toast]").first().waitFor();
            await widget.locator("button.bell").click();
            await widget.locator("[part=item].unread").first().waitFor();
            await assertAccessible(page, `/demo (${colorScheme})`);
          },
        );
      }
      assert.deepEqual(problems, []);
    } finally {
      await Promise.all(sockets.map((s) => s.close()));
      await browser.close();
      await server.close();
      await production.close();
    }
  },
});
