/**
 * Server-rendered pages. With one Preact island: the island is rendered to HTML here, its props are serialised
 * into the page, and its hydration entry (built by `lib/bundles.ts`, served under `/islands/`) makes it live in
 * the browser. The entry calls `hydrateIsland()` from `lib/client/hydrate.ts` with the same component. Without one:
 * plain HTML, no script at all. Every page links the favicon, so no browser asks for a missing one.
 */
import type { ComponentType, VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import { ISLAND_PROPS_ID, ISLAND_ROOT_ID } from "./client/hydrate.ts";

export interface IslandPage<P> {
  title: string;
  island: ComponentType<P>;
  /** Plain JSON data only: they cross to the browser as JSON. */
  props: P;
  /** The hydration entry, relative to the project root: `islands/<name>.tsx`. */
  entry: string;
  /** Extra markup for `<head>` (styles, scripts the island does not own). */
  head?: string;
  lang?: string;
}

/** The URL an island entry is served at: `islands/demo_dashboard_entry.tsx` → `/islands/demo_dashboard_entry.js`. */
export function islandScriptUrl(entry: string): string {
  const match = /^islands\/([a-z0-9_]+)\.tsx?$/.exec(entry);
  if (!match) throw new Error(`Island entry "${entry}" must be islands/<snake_case>.tsx`);
  return `/islands/${match[1]}.js`;
}

/** JSON that is safe inside a `<script>`: no `</script>`, no `<!--`, no line separators that end a JS line. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** Where every page finds its icon (served by `routes/favicon.ts`). */
export const FAVICON_URL = "/favicon.svg";

function htmlDocument(page: { title: string; head?: string; lang?: string }, body: string): string {
  return `<!doctype html>
<html lang="${escapeHtml(page.lang ?? "en")}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(page.title)}</title>
<link rel="icon" href="${FAVICON_URL}" type="image/svg+xml">
${page.head ?? ""}
</head>
<body>
${body}
</body>
</html>
`;
}

/** Renders a whole HTML page around one island, ready to hydrate. */
export function renderIslandPage<P>(page: IslandPage<P>): string {
  const Island = page.island as ComponentType<Record<string, unknown>>;
  const body = renderToString(<Island {...(page.props as Record<string, unknown>)} />);
  return htmlDocument(
    page,
    `<div id="${ISLAND_ROOT_ID}">${body}</div>
<script type="application/json" id="${ISLAND_PROPS_ID}">${scriptSafeJson(page.props)}</script>
<script type="module" src="${islandScriptUrl(page.entry)}"></script>`,
  );
}

export interface PlainPage {
  title: string;
  /** The page's content; it should hold the page's one `<main>`. */
  body: VNode;
  /** Extra markup for `<head>` (styles). */
  head?: string;
  lang?: string;
}

/** Renders a whole HTML page with no script: the landing page, the 401, 403 and 404 pages. */
export function renderPlainPage(page: PlainPage): string {
  return htmlDocument(page, renderToString(page.body));
}
