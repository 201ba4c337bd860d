/** `GET /health`: 200 while healthy or degraded, 503 when unhealthy (load balancers stop sending traffic). */
import { Hono } from "hono";
import { checkHealth, type HealthReport } from "../lib/health.ts";
import type { Service } from "../lib/service.ts";
import type { AppEnv } from "../middleware/env.ts";

/** The service's health report, as `/health` and the status panel show it. */
export function serviceHealth(service: Service): Promise<HealthReport> {
  return checkHealth({
    records: () => service.gauges.liveRecords(service.isolates, service.isolateId),
    kv: () => Promise.resolve(service.kvProbe.check()),
    relay: service.relay.health(),
    maxConnectionsPerIsolate: service.config.maxConnections,
    now: service.now,
  });
}

export const healthRoutes = new Hono<AppEnv>().get("/health", async (c) => {
  const report = await serviceHealth(c.get("service"));
  c.header("cache-control", "no-store");
  return c.json(report, report.status === "unhealthy" ? 503 : 200);
});
