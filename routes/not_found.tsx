/**
 * The answer for a path no route serves: an HTML page for a browser (a request that accepts `text/html`,
 * outside `/api/`), the JSON error shape `{"error": {"code": "not_found", ...}}` for everyone else. API paths
 * always answer JSON, whatever they accept, so the API's error contract has no exception.
 */
import type { Context } from "hono";
import { renderPlainPage } from "../lib/page.tsx";
import type { AppEnv } from "../middleware/env.ts";
import { PAGE_STYLE } from "./page_style.ts";

/** Long enough for any real path; a longer one is cut so the page stays small. */
const SHOWN_PATH_LIMIT = 200;

function wantsHtml(c: Context<AppEnv>): boolean {
  if (c.req.path === "/api" || c.req.path.startsWith("/api/")) return false;
  return (c.req.header("accept") ?? "").toLowerCase().includes("text/html");
}

function notFoundPage(path: string): string {
  const shown = path.length > SHOWN_PATH_LIMIT ? `${path.slice(0, SHOWN_PATH_LIMIT)}…` : path;
  return renderPlainPage({
    title: "Not found · JasaWeb Realtime",
    head: PAGE_STYLE,
    body: (
      <main class="card page">
        <h1>Page not found</h1>
        <p>
          Nothing lives at <code>{shown}</code>.
        </p>
        <p>
          <a href="/">Go to the JasaWeb Realtime home page</a>
        </p>
      </main>
    ),
  });
}

/** `app.notFound` handler: 404 in the form the caller reads. */
export function notFound(c: Context<AppEnv>): Response {
  c.header("vary", "Accept");
  if (wantsHtml(c)) return c.html(notFoundPage(c.req.path), 404);
  return c.json({ error: { code: "not_found", message: "Not found" } }, 404);
}
