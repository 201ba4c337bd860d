/**
 * Access logs: one JSON line a request once it is answered, carrying its id (`middleware/request_id.ts`). The
 * logger redacts tokens, `?token=` included, so URLs can be logged as they came.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env.ts";

/** Middleware that logs each request once answered, at `info` (`warn` for 5xx); after `requestId()`. */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function accessLog(c, next) {
    // Read the request now: after a WebSocket upgrade it can no longer be read.
    const { method, url } = c.req.raw;
    const userAgent = c.req.header("user-agent");
    const started = performance.now();
    await next();
    const status = c.res.status;
    const level = status >= 500 ? "warn" : "info";
    const log = c.get("service").log;
    if (!log.enabled(level)) return; // a line nobody keeps is not built
    const { pathname, search } = new URL(url);
    log[level]("Request", {
      requestId: c.get("requestId"),
      method,
      path: pathname + search,
      userAgent,
      status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    });
  };
}
