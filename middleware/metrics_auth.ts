/**
 * The scrape credential of `/metrics`, by hono's `bearerAuth()`: with `METRICS_TOKEN` set, only
 * `Authorization: Bearer <METRICS_TOKEN>` may read it, compared by hono in constant time over SHA-256
 * digests. This is where `bearerAuth()` fits: one static token, in the header only (compare
 * `middleware/auth.ts`, where it does not).
 *
 * Its three refusals (no header, a header that is not `Bearer <token>`, a wrong token) are all one answer,
 * 401 `unauthorized` in the JSON error shape with `WWW-Authenticate: Bearer realm="metrics"`, so a caller
 * learns nothing from which one it got. `METRICS_TOKEN` is held to the bearer token grammar `bearerAuth()`
 * reads (`lib/config.ts`), so the token it guards with can always be presented.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { AppEnv } from "./env.ts";

const REFUSAL = {
  message: (c: Context) =>
    c.json({ error: { code: "unauthorized", message: "A valid metrics token is required" } }, 401),
  wwwAuthenticateHeader: 'Bearer realm="metrics"',
};

/** Lets a request through when `token` (`METRICS_TOKEN`) is unset or presented as its Bearer token; 401 otherwise. */
export function metricsAuth(token: string | undefined): MiddlewareHandler<AppEnv> {
  if (!token) {
    return async function noMetricsToken(_c, next) {
      await next();
    };
  }
  return bearerAuth({
    token,
    noAuthenticationHeader: REFUSAL,
    invalidAuthenticationHeader: REFUSAL,
    invalidToken: REFUSAL,
  });
}
