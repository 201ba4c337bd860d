/**
 * axe-core (the engine behind Lighthouse's accessibility audit) run inside a real page. Its source is
 * evaluated through the DevTools protocol rather than added as a `<script>`, so a page's
 * Content-Security-Policy cannot block it and the page under test stays exactly as served.
 */
import axe from "axe-core";
import type { Page } from "playwright-core";

/** WCAG 2.0 and 2.1, levels A and AA. */
export const WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string; summary: string }[];
}

/** The page's violations of the given axe tags (open shadow roots included), an empty list when it passes. */
export async function axeViolations(page: Page, tags: string[] = WCAG_AA_TAGS): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => "axe" in globalThis))) await page.evaluate(axe.source);
  return await page.evaluate(async (tags) => {
    // deno-lint-ignore no-explicit-any
    const engine = (globalThis as any).axe;
    const result = await engine.run(document, { runOnly: { type: "tag", values: tags } });
    // deno-lint-ignore no-explicit-any
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      // deno-lint-ignore no-explicit-any
      nodes: v.nodes.map((n: any) => ({ target: JSON.stringify(n.target), summary: n.failureSummary ?? "" })),
    }));
  }, tags);
}

/** The violations as readable lines, for an assertion message. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations.map((v) =>
    `${v.id} (${v.impact}): ${v.help}\n${
      v.nodes.map((n) => `    ${n.target}\n      ${n.summary.replace(/\n/g, "\n      ")}`).join("\n")
    }`
  ).join("\n");
}
