/** `GET /health`: 200 while healthy or degraded, 503 when unhealthy (load balancers stop sending traffic). */
import { Hono } from "hono";
import type { AppEnv } from "../middleware/env.ts";

export const healthRoutes = new Hono<AppEnv>().get("/health", async (c) => {
  const report = await c.get("service").health();
  c.header("cache-control", "no-store");
  return c.json(report, report.status === "unhealthy" ? 503 : 200);
});
