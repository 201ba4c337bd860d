/**
 * The origin policy of `lib/origins.ts` as the HTTP layer applies it: one check for sockets, CORS and CSRF,
 * and one way to refuse (a warn-level line naming the origin, and `realtime_auth_failures_total{reason="origin"}`).
 */
import type { Context } from "hono";
import { ApiError } from "../lib/api_error.ts";
import { originPolicy, type RequestFacts } from "../lib/origins.ts";
import type { AppEnv } from "./env.ts";

/** What the origin policy needs from this request; read it before a WebSocket upgrade. */
export function requestFacts(c: Context<AppEnv>): RequestFacts {
  return { url: c.req.url, headers: c.req.raw.headers, peer: c.env?.remoteAddr?.hostname };
}

/** True when a browser page at `origin` may use the service in this request. */
export function originAllowed(c: Context<AppEnv>, origin: string): boolean {
  return originPolicy(c.get("service").config).allows(origin, requestFacts(c));
}

/**
 * Logs and counts a refused request, and returns the 403 to throw. `check` says which rule refused it; a
 * request without `Origin` is named by its `Sec-Fetch-Site`.
 */
export function refuseOrigin(
  c: Context<AppEnv>,
  sender: { origin: string } | { secFetchSite: string },
  check: "websocket" | "csrf",
): ApiError {
  const service = c.get("service");
  service.metrics.inc("realtime_auth_failures_total", { reason: "origin" });
  // Bounded: these headers are the caller's to write, and a log line is not a place for 8 KB of them.
  const named = "origin" in sender
    ? { origin: sender.origin.slice(0, 200) }
    : { secFetchSite: sender.secFetchSite.slice(0, 40) };
  service.log.warn("Origin refused", { ...named, check, method: c.req.method, path: c.req.path });
  const message = "origin" in named
    ? `Origin "${named.origin}" is not allowed`
    : `A ${named.secFetchSite} request without an Origin is not allowed`;
  return new ApiError(403, "origin_not_allowed", message);
}
