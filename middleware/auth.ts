/**
 * Who is calling: a platform session token (`Authorization: Bearer` or cookie `auth_token`), and for the
 * notification API also a socket token. Failures answer 401 `unauthorized` or 403 `forbidden`, and count in
 * `realtime_auth_failures_total{reason}`.
 *
 * Not hono's `bearerAuth()`, which does not fit: it reads the header only and answers a request without
 * one 401 before any `verifyToken` runs, so the pages that authenticate by cookie (the admin panel, the
 * demo) would be refused; it answers 400 to a header that is not `Bearer <token>`, where we let the cookie
 * decide; its answers are responses of its own (plain text unless each of its three messages is rewritten),
 * not the JSON error shape of `middleware/error_handler.ts`; and its `verifyToken` returns a boolean, where
 * we need the identity and the reason a token failed. A wrapper restoring all that would leave it nothing
 * to do. It does fit the one static token of `/metrics` (`middleware/metrics_auth.ts`).
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { ApiError } from "../lib/api_error.ts";
import { AuthError, type Identity } from "../lib/auth.ts";
import type { AppEnv } from "./env.ts";

/** A request's credential: an `Authorization: Bearer` header wins, else the `auth_token` cookie. */
export interface PresentedToken {
  token: string;
  via: "bearer" | "cookie";
}

/** The token this request presents, and whether it came as a Bearer header or as the cookie. */
export function presentedToken(c: Context<AppEnv>): PresentedToken | undefined {
  const header = c.req.header("authorization");
  if (header?.toLowerCase().startsWith("bearer ")) return { token: header.slice(7).trim(), via: "bearer" };
  const cookie = getCookie(c, "auth_token");
  return cookie === undefined ? undefined : { token: cookie, via: "cookie" };
}

async function identify(c: Context<AppEnv>, acceptSocketTokens: boolean): Promise<Identity> {
  const service = c.get("service");
  const token = presentedToken(c)?.token;
  try {
    return await service.verifySession(token);
  } catch (sessionError) {
    if (acceptSocketTokens && token) {
      try {
        return await service.socketTokens.verify(token, { clockTolerance: 30 });
      } catch { /* fall through to the session error */ }
    }
    const reason = sessionError instanceof AuthError ? sessionError.reason : "invalid";
    service.metrics.inc("realtime_auth_failures_total", { reason });
    throw new ApiError(
      401,
      "unauthorized",
      token ? "Token is invalid or expired" : "Authentication required",
    );
  }
}

/** Requires a platform session token. */
export function requireSession(): MiddlewareHandler<AppEnv> {
  return async function session(c, next) {
    c.set("identity", await identify(c, false));
    await next();
  };
}

/** Requires a session token or a socket token. */
export function requireUser(): MiddlewareHandler<AppEnv> {
  return async function user(c, next) {
    c.set("identity", await identify(c, true));
    await next();
  };
}

/** Requires an admin's session token. */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function admin(c, next) {
    const identity = await identify(c, false);
    if (identity.role !== "admin") throw new ApiError(403, "forbidden", "Admin role required");
    c.set("identity", identity);
    await next();
  };
}
