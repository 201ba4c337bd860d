/**
 * Request ids and access logs: every request gets an `X-Request-Id` (the caller's, when it is a sane token,
 * or a fresh UUID), echoed on the response and written on one JSON access-log line. The logger redacts tokens,
 * `?token=` included, so URLs can be logged as they came.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env.ts";

const SANE_ID = /^[\w.:@-]{1,128}$/;

/** Middleware that tags the request with an id and logs it once answered, at `info` (`warn` for 5xx). */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function accessLog(c, next) {
    const offered = c.req.header("x-request-id");
    // A caller-chosen id is kept for tracing across services, but never one that could forge log lines.
    const requestId = offered && SANE_ID.test(offered) ? offered : crypto.randomUUID();
    // Read the request now: after a WebSocket upgrade it can no longer be read.
    const { method, url } = c.req.raw;
    const userAgent = c.req.header("user-agent");
    const started = performance.now();
    await next();
    // Set on the final response, so raw responses (the WebSocket upgrade) carry it too.
    c.res.headers.set("x-request-id", requestId);
    const status = c.res.status;
    const level = status >= 500 ? "warn" : "info";
    const log = c.get("service").log;
    if (!log.enabled(level)) return; // a line nobody keeps is not built
    const { pathname, search } = new URL(url);
    log[level]("Request", {
      requestId,
      method,
      path: pathname + search,
      userAgent,
      status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    });
  };
}
