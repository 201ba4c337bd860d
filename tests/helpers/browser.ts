/**
 * Real Chromium for browser tests, through playwright-core. Without a Chromium binary the tests are skipped
 * with a loud line locally, and fail under `CI=true`.
 */
import { type BrowserContext, chromium } from "playwright-core";

const CANDIDATES = [Deno.env.get("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser"];

function findChromium(): string | undefined {
  for (const path of CANDIDATES) {
    if (!path) continue;
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* try the next one */ }
  }
  return undefined;
}

export const CHROMIUM_PATH = findChromium();

/** True when the browser tests must be skipped (no Chromium, not CI); says so loudly. */
export function skipBrowserTests(): boolean {
  if (CHROMIUM_PATH) return false;
  if (Deno.env.get("CI") === "true") return false; // the launch below fails the test, as CI must
  console.warn("\n!!! Chromium not found (/usr/bin/chromium or CHROMIUM_PATH): browser tests SKIPPED !!!\n");
  return true;
}

/** A headless Chromium with a fresh profile directory; `close()` removes both. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!CHROMIUM_PATH) throw new Error("Chromium is required (CI=true): install it or set CHROMIUM_PATH");
  const profile = await Deno.makeTempDir({ prefix: "jw-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/** Where tests save screenshots (gitignored). */
export async function artifactPath(name: string): Promise<string> {
  await Deno.mkdir("test-artifacts", { recursive: true });
  return `test-artifacts/${name}`;
}
