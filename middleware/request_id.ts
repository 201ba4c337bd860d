/**
 * Request ids, by hono's `requestId()`: every request gets an `X-Request-Id`, the caller's when it is 1–128
 * characters of `[A-Za-z0-9_.:@-]` (kept for tracing across services, and unable to forge a log line), else a
 * fresh UUID. Routes and the access log read it as `c.get("requestId")`; it is echoed on the response.
 *
 * Two of hono's defaults are set aside. Its own test of the caller's id admits `=` and refuses `.`, `:` and
 * `@`, so it reads no header (`headerName: ""`) and our generator applies our rule instead. And it echoes the
 * id with `c.header()` before the route runs, which a raw response never sees (the WebSocket upgrade's 101),
 * so the id is set on the final response instead.
 */
import type { Context, MiddlewareHandler } from "hono";
import { requestId as honoRequestId } from "hono/request-id";
import type { AppEnv } from "./env.ts";

const HEADER = "x-request-id";
const CALLER_ID = /^[\w.:@-]{1,128}$/;

function callerIdOrFresh(c: Context): string {
  const offered = c.req.header(HEADER);
  return offered && CALLER_ID.test(offered) ? offered : crypto.randomUUID();
}

/** Tags the request with its id (`c.get("requestId")`) and echoes it as `X-Request-Id` on every response. */
export function requestId(): MiddlewareHandler<AppEnv> {
  const tag = honoRequestId({ headerName: "", generator: callerIdOrFresh });
  return async function echoRequestId(c, next) {
    await tag(c, next);
    c.res.headers.set(HEADER, c.get("requestId"));
  };
}
