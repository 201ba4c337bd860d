/**
 * Cross-site request forgery: a state-changing request (POST, PUT, PATCH, DELETE) that a browser
 * authenticated with the `auth_token` cookie must come from a page of an allowed origin or of the service
 * itself. Hono's `csrf()` checks form-like bodies only and answers plain text; this one checks every body
 * type, answers the JSON error shape, and leaves bearer-token requests alone (a page cannot make a browser
 * attach someone's bearer token).
 *
 * The sender is judged by `Origin`; without it, by `Sec-Fetch-Site` (`same-origin` and `none`, a request
 * the user made, pass). A request with neither header is not from a browser that would attach a cookie on
 * another site's behalf — every browser sends `Origin` on cross-origin POST, PUT, PATCH and DELETE — so it
 * passes: a server or a script holding the cookie could present it anyway.
 */
import type { MiddlewareHandler } from "hono";
import { presentedToken } from "./auth.ts";
import type { AppEnv } from "./env.ts";
import { originAllowed, refuseOrigin } from "./origin_guard.ts";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const SAME_PARTY = new Set(["same-origin", "none"]);

/** Refuses cookie-authenticated state-changing requests from other sites with 403 `origin_not_allowed`. */
export function csrfGuard(): MiddlewareHandler<AppEnv> {
  return async function csrf(c, next) {
    if (!STATE_CHANGING.has(c.req.method)) return await next();
    // Judged by the credential middleware/auth.ts takes: a Bearer header wins, and a page cannot make a
    // browser send one; only a cookie rides along on another site's request.
    if (presentedToken(c)?.via !== "cookie") return await next();
    const origin = c.req.header("origin");
    if (origin !== undefined) {
      if (!originAllowed(c, origin)) throw refuseOrigin(c, { origin }, "csrf");
    } else {
      const secFetchSite = c.req.header("sec-fetch-site");
      if (secFetchSite !== undefined && !SAME_PARTY.has(secFetchSite)) {
        throw refuseOrigin(c, { secFetchSite }, "csrf");
      }
    }
    await next();
  };
}
