/**
 * CORS for the REST API: a page of an allowed origin (`middleware/origin_guard.ts`) may call it with the
 * user's cookie; other origins get no `Access-Control-Allow-Origin`, so their pages cannot read the answers.
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "./env.ts";
import { originAllowed } from "./origin_guard.ts";

/** Hono's `cors()` with the service's origin policy; preflights are cached for ten minutes. */
export function apiCors(): MiddlewareHandler<AppEnv> {
  return cors({
    origin: (origin, c) => (originAllowed(c, origin) ? origin : null),
    credentials: true,
    allowHeaders: ["Authorization", "Content-Type"],
    allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
    maxAge: 600,
  });
}
