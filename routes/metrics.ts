/**
 * `GET /metrics`: Prometheus text for every live isolate (their KV snapshots, at most 5 s old, and this
 * isolate's live one). With `METRICS_TOKEN` set, only `Authorization: Bearer <it>` may read it.
 */
import { Hono } from "hono";
import { PROMETHEUS_CONTENT_TYPE } from "../lib/prometheus.ts";
import type { AppEnv } from "../middleware/env.ts";
import { metricsAuth } from "../middleware/metrics_auth.ts";

export const metricsRoutes = (metricsToken: string | undefined) =>
  new Hono<AppEnv>().get("/metrics", metricsAuth(metricsToken), async (c) => {
    const service = c.get("service");
    return c.body(await service.scrape(), 200, {
      "content-type": PROMETHEUS_CONTENT_TYPE,
      "cache-control": "no-store",
    });
  });
