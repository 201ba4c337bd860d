/**
 * `GET /metrics`: Prometheus text for every live isolate (their KV snapshots, at most 5 s old, and this
 * isolate's live one). With `METRICS_TOKEN` set, only `Authorization: Bearer <it>` may read it.
 */
import { Hono } from "hono";
import { ApiError } from "../lib/api_error.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../lib/prometheus.ts";
import type { AppEnv } from "../middleware/env.ts";

async function digest(text: string): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares digests, not the strings, so the time taken says nothing about how much of the token matched. */
async function bearerMatches(header: string | undefined, expected: string): Promise<boolean> {
  const presented = header?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim() ?? "";
  return (await digest(presented)) === (await digest(expected));
}

export const metricsRoutes = new Hono<AppEnv>().get("/metrics", async (c) => {
  const service = c.get("service");
  const expected = service.config.metricsToken;
  if (expected && !(await bearerMatches(c.req.header("authorization"), expected))) {
    c.header("www-authenticate", 'Bearer realm="metrics"');
    throw new ApiError(401, "unauthorized", "A valid metrics token is required");
  }
  return c.body(await service.scrape(), 200, {
    "content-type": PROMETHEUS_CONTENT_TYPE,
    "cache-control": "no-store",
  });
});
