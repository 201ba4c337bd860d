/**
 * Who is calling: a platform session token (`Authorization: Bearer` or cookie `auth_token`), and for the
 * notification API also a socket token. Failures answer 401 `unauthorized` or 403 `forbidden`.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { ApiError } from "../lib/api_error.ts";
import { AuthError, type Identity } from "../lib/auth.ts";
import type { AppEnv } from "./env.ts";

function presentedToken(c: Context<AppEnv>): string | undefined {
  const header = c.req.header("authorization");
  if (header?.toLowerCase().startsWith("bearer ")) return header.slice(7).trim();
  return getCookie(c, "auth_token");
}

async function identify(c: Context<AppEnv>, acceptSocketTokens: boolean): Promise<Identity> {
  const service = c.get("service");
  const token = presentedToken(c);
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
