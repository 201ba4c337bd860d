/**
 * The HTTP application: middleware, every route, and the one error handler that writes the JSON error shape.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { ApiError } from "./lib/api_error.ts";
import { csrfGuard } from "./middleware/csrf.ts";
import { originAllowed } from "./middleware/origin_guard.ts";
import { securityHeaders } from "./middleware/security_headers.ts";
import { isKvFailure } from "./lib/kv.ts";
import type { Service } from "./lib/service.ts";
import { adminRoutes } from "./routes/admin.ts";
import { adminPageRoutes } from "./routes/admin_page.tsx";
import type { AppEnv } from "./middleware/env.ts";
import { assetRoutes } from "./routes/assets.ts";
import { devRoutes } from "./routes/dev.ts";
import { healthRoutes } from "./routes/health.ts";
import { homeRoutes } from "./routes/home.tsx";
import { metricsRoutes } from "./routes/metrics.ts";
import { notFound } from "./routes/not_found.tsx";
import { notificationRoutes } from "./routes/notifications.ts";
import { demoRoutes } from "./routes/demo.tsx";
import { requestLog } from "./middleware/request_log.ts";
import { tokenRoutes } from "./routes/token.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { wsRoutes } from "./routes/ws.ts";

/** Builds the Hono app around a service. */
export function createApp(service: Service) {
  const { config } = service;
  const app = new Hono<AppEnv>();
  app.use(async function provideService(c, next) {
    c.set("service", service);
    await next();
  });
  app.use(requestLog());
  app.use(securityHeaders());
  app.use(
    "/api/*",
    cors({
      origin: (origin, c) => (originAllowed(c, origin) ? origin : null),
      credentials: true,
      allowHeaders: ["Authorization", "Content-Type"],
      allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
      maxAge: 600,
    }),
  );
  app.use(csrfGuard());
  app.route("/", tokenRoutes);
  app.route("/", wsRoutes);
  app.route("/", notificationRoutes);
  app.route("/", webhookRoutes(config.webhookSecrets));
  app.route("/", assetRoutes);
  app.route("/", adminRoutes);
  app.route("/", adminPageRoutes);
  app.route("/", homeRoutes);
  app.route("/", healthRoutes);
  app.route("/", metricsRoutes);
  if (config.demo) app.route("/", devRoutes).route("/", demoRoutes);

  app.notFound(notFound);
  app.onError((error, c) => {
    if (error instanceof ApiError) {
      const body = {
        code: error.code,
        message: error.message,
        ...(error.issues ? { issues: error.issues } : {}),
      };
      return c.json({ error: body }, error.status);
    }
    if (error instanceof HTTPException) {
      return c.json(
        { error: { code: "http_error", message: error.message || "Request failed" } },
        error.status,
      );
    }
    if (isKvFailure(error)) {
      // Every write is one atomic commit, so a failed request stored nothing: the caller may simply retry.
      service.log.warn("Store unavailable", { path: c.req.path, error });
      return c.json({ error: { code: "unavailable", message: "Storage is unavailable; try again" } }, 503);
    }
    service.log.error("Request failed", { path: c.req.path, error });
    return c.json({ error: { code: "internal_error", message: "Something went wrong; try again" } }, 500);
  });
  return app;
}
