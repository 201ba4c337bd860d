/**
 * Content-Security-Policy violations in Chromium: install `recordCspViolations` with
 * `context.addInitScript()` before a page loads, then read them with `cspViolations(page)`.
 */
import type { Page } from "playwright-core";

/** Runs in the page before its first script: keeps every `securitypolicyviolation` it reports. */
export const recordCspViolations = () => {
  const seen: string[] = [];
  (globalThis as unknown as { cspViolations: string[] }).cspViolations = seen;
  document.addEventListener(
    "securitypolicyviolation",
    (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`),
  );
};

/** The violations the page reported so far, as `"<directive> <blocked URI>"`. */
export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (globalThis as unknown as { cspViolations: string[] }).cspViolations);
}
