/**
 * Browser scripts: `/client.js`, `/widget.js` and the island entries under `/islands/`, bundled on first
 * request and cached. Any origin may load them (a module script is fetched with CORS), and browsers revalidate
 * them cheaply by ETag. Also the icon (`routes/favicon.ts`).
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { ApiError } from "../lib/api_error.ts";
import { bundle } from "../lib/bundles.ts";
import type { AppEnv } from "../middleware/env.ts";
import { faviconRoutes } from "./favicon.ts";

const etags = new Map<string, { source: string; etag: string }>();

async function etagOf(entry: string, source: string): Promise<string> {
  const known = etags.get(entry);
  if (known?.source === source) return known.etag;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(source)));
  const etag = `"${Array.from(digest.slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}"`;
  etags.set(entry, { source, etag });
  return etag;
}

async function serveBundle(c: Context<AppEnv>, entry: string) {
  const source = await bundle(entry);
  const etag = await etagOf(entry, source);
  const headers = {
    "content-type": "text/javascript; charset=utf-8",
    "cache-control": "public, max-age=300",
    etag,
    "access-control-allow-origin": "*",
    "cross-origin-resource-policy": "cross-origin",
  };
  if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
  return c.body(source, 200, headers);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(new URL(`../${path}`, import.meta.url))).isFile;
  } catch {
    return false;
  }
}

export const assetRoutes = new Hono<AppEnv>()
  .route("/", faviconRoutes)
  .get("/client.js", (c) => serveBundle(c, "lib/client/realtime_client.ts"))
  .get("/widget.js", (c) => serveBundle(c, "islands/widget_element.tsx"))
  .get("/islands/:file{[a-z0-9_]+\\.js}", async (c) => {
    // Only entry files that exist in islands/ are ever bundled; the name pattern keeps paths inside it.
    const entry = `islands/${c.req.param("file").replace(/\.js$/, ".tsx")}`;
    if (!(await isFile(entry))) throw new ApiError(404, "not_found", "Not found");
    return serveBundle(c, entry);
  });
