/**
 * The HTTP application: middleware in the order it runs, every route, and the one error handler that
 * writes the JSON error shape.
 */
import { Hono } from "hono";
import type { Service } from "./lib/service.ts";
import { apiCors } from "./middleware/api_cors.ts";
import { csrfGuard } from "./middleware/csrf.ts";
import { type AppEnv, provideService } from "./middleware/env.ts";
import { errorHandler } from "./middleware/error_handler.ts";
import { requestId } from "./middleware/request_id.ts";
import { requestLog } from "./middleware/request_log.ts";
import { securityHeaders } from "./middleware/security_headers.ts";
import { adminRoutes } from "./routes/admin.ts";
import { adminPageRoutes } from "./routes/admin_page.tsx";
import { assetRoutes } from "./routes/assets.ts";
import { demoRoutes } from "./routes/demo.tsx";
import { devRoutes } from "./routes/dev.ts";
import { healthRoutes } from "./routes/health.ts";
import { homeRoutes } from "./routes/home.tsx";
import { metricsRoutes } from "./routes/metrics.ts";
import { notFound } from "./routes/not_found.tsx";
import { notificationRoutes } from "./routes/notifications.ts";
import { tokenRoutes } from "./routes/token.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { wsRoutes } from "./routes/ws.ts";

/**
 * Builds the Hono app around a service. Authentication, per-user rate limits and body limits are the routes'
 * own (`requireUser()`, `apiRateLimit()`, `readBodyLimited()`), since each route needs a different one.
 */
export function createApp(service: Service) {
  const { config } = service;
  const app = new Hono<AppEnv>();
  app.use(provideService(service)); // c.get("service"), which everything below reads
  app.use(requestId()); // X-Request-Id: the caller's when it is sane, else a fresh UUID
  app.use(requestLog()); // one access line a request, with its id
  app.use(securityHeaders()); // CSP with a nonce, nosniff, no framing
  app.use("/api/*", apiCors()); // allowed origins may call the API with the user's cookie
  app.use(csrfGuard()); // cookie-authenticated writes only from allowed origins

  app.route("/", tokenRoutes);
  app.route("/", wsRoutes);
  app.route("/", notificationRoutes);
  app.route("/", webhookRoutes(config.webhookSecrets));
  app.route("/", assetRoutes);
  app.route("/", adminRoutes);
  app.route("/", adminPageRoutes);
  app.route("/", homeRoutes);
  app.route("/", healthRoutes);
  app.route("/", metricsRoutes(config.metricsToken));
  if (config.demo) app.route("/", devRoutes).route("/", demoRoutes);

  app.notFound(notFound);
  app.onError(errorHandler(service.log));
  return app;
}
