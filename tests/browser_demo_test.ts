/**
 * The `/demo` dashboard in real Chromium as client-budi: paying an invoice starts the project that waited for
 * it, the log says what each webhook really answered, and the widget's toasts never cover the event buttons
 * or the dashboard (real clicks with toasts showing, and the elements' bounding boxes).
 */
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { DEMO_USERS } from "../lib/dev/demo_users.ts";
import { artifactPath, launchBrowser, skipBrowserTests } from "./helpers/browser.ts";
import { freePort } from "./helpers/process.ts";
import { startTestServer } from "./helpers/server.ts";

const budi = DEMO_USERS.find((u) => u.userId === "client-budi")!;

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const overlaps = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

async function boxes(locator: Locator): Promise<{ text: string; box: Box }[]> {
  const found = [];
  for (const element of await locator.all()) {
    const box = await element.boundingBox();
    if (box) found.push({ text: (await element.textContent() ?? "").trim().slice(0, 40), box });
  }
  return found;
}

/** Opens /demo and waits for the widget to connect. */
async function openDemo(page: Page, url: string) {
  await page.goto(`${url}/demo`);
  await page.locator("jasaweb-notifications [part=status]", { hasText: "Connected" }).waitFor();
}

const pill = (page: Page, row: string) => page.locator(`${row} .pill`);

Deno.test({
  name:
    "[browser] /demo: a paid invoice starts its project, the log tells the webhook's status, toasts cover nothing",
  ignore: skipBrowserTests(),
  async fn(t) {
    const port = freePort();
    const server = await startTestServer({ port, env: { ALLOWED_ORIGINS: `http://127.0.0.1:${port}` } });
    const browser = await launchBrowser();
    try {
      await browser.context.addCookies([
        { name: "auth_token", value: await server.sessionToken(budi), url: server.url },
      ]);
      const page = await browser.context.newPage();
      page.setDefaultTimeout(15_000);
      const log = page.locator("ul.log");

      await t.step("paying the invoice of a project pending payment moves the project on", async () => {
        await openDemo(page, server.url);
        const waiting = page.locator("tr[data-project-id]", { has: page.locator(".pill.pending_payment") });
        assert.equal(await waiting.count(), 1, "the seed has one project waiting for its payment");
        const projectId = await waiting.getAttribute("data-project-id");
        const projectName = await waiting.locator("td").first().textContent();
        const invoiceRow = page.locator("tr[data-invoice-id]", { hasText: projectName! });
        assert.equal(await invoiceRow.locator(".pill").textContent(), "pending");

        await page.click('button[data-event="invoice.status_changed"]');
        await invoiceRow.locator(".pill.paid").waitFor();
        await pill(page, `tr[data-project-id="${projectId}"]`).and(page.locator(".in_progress")).waitFor();
        assert.equal(await pill(page, `tr[data-project-id="${projectId}"]`).textContent(), "in progress");
      });

      await t.step(
        "the log says what each webhook answered: 202, delivered to the widget's socket",
        async () => {
          await log.locator("li", { hasText: "Sent project.status_changed" }).waitFor();
          const lines = (await log.locator("li").allTextContents()).filter((line) => line.includes("Sent "));
          assert.equal(lines.length, 2, lines.join("\n"));
          assert.match(lines[1], /Sent invoice\.status_changed → webhook 202 \(delivered to 1 socket\)$/);
          assert.match(lines[0], /Sent project\.status_changed → webhook 202 \(delivered to 1 socket\)$/);
        },
      );

      for (const viewport of [{ width: 1280, height: 720 }, { width: 1024, height: 768 }]) {
        await t.step(
          `toasts cover no event button and no dashboard content at ${viewport.width}×${viewport.height}`,
          async () => {
            await page.setViewportSize(viewport);
            await openDemo(page, server.url);
            const toasts = page.locator("jasaweb-notifications [part=toast]");
            const buttons = page.locator("button[data-event]");
            const kinds = await buttons.evaluateAll((all) =>
              all.map((b) => (b as HTMLElement).dataset.event!)
            );
            // Each button by a real click (it fails if a toast intercepts it), the last with toasts showing.
            for (const kind of [...kinds, kinds.at(-1)!]) {
              const [answer] = await Promise.all([
                page.waitForResponse((r) => r.url().endsWith("/api/dev/events")),
                page.click(`button[data-event="${kind}"]`, { timeout: 5000 }),
              ]);
              assert.equal(answer.status(), 200);
            }
            await toasts.first().waitFor();
            const shown = await boxes(toasts);
            const content = await boxes(page.locator("main :is(button, td, th, li, h1, h2, p)"));
            for (const toast of shown) {
              for (const item of content) {
                assert.ok(!overlaps(toast.box, item.box), `toast "${toast.text}" covers "${item.text}"`);
              }
            }
            await page.screenshot({ path: await artifactPath(`demo-toasts-${viewport.width}.png`) });
          },
        );
      }
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
