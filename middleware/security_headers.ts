/**
 * Security headers on every response, by hono's `secureHeaders()`: `X-Content-Type-Options: nosniff`, no
 * framing (`frame-ancestors 'none'` and `X-Frame-Options: DENY`, so the panel's Disconnect button cannot be
 * clickjacked), and a Content-Security-Policy under which a page runs only scripts from this service, plus an
 * inline script that carries the request's nonce (`pageNonce(c)`). Island props travel in a
 * `<script type="application/json">` block, which is data, not script, and needs no nonce.
 *
 * Styles may be inline (`'unsafe-inline'` for `style-src`): the pages and the widget's shadow root carry
 * their own `<style>`, and a style cannot run script. `Cross-Origin-Resource-Policy` is left to the routes
 * (`/widget.js` and `/client.js` are loaded by other sites), and `Strict-Transport-Security` to the TLS
 * terminator in front, which knows whether every subdomain speaks HTTPS.
 */
import type { Context, MiddlewareHandler } from "hono";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "./env.ts";

/** The response headers every answer carries. */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", NONCE],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", "data:"],
      // 'self' covers ws: and wss: to this host (CSP Level 3), which the panel and the widget use.
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    xFrameOptions: "DENY",
    crossOriginResourcePolicy: false,
    strictTransportSecurity: false,
  });
}

/** The nonce an inline `<script nonce>` of this response must carry to run under the policy. */
export function pageNonce(c: Context<AppEnv>): string {
  const nonce = c.get("secureHeadersNonce");
  if (!nonce) throw new Error("pageNonce() needs securityHeaders() in front of the route");
  return nonce;
}
