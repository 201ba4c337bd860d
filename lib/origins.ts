/**
 * The one origin policy: which browser origins may open sockets (`GET /ws`), get CORS answers and send
 * cookie-authenticated state-changing requests. An origin is allowed when it is listed in `ALLOWED_ORIGINS`
 * or when it is the service's own origin, so the service's own pages (`/admin`, `/demo`) work however the
 * service is deployed.
 *
 * The service's own origin is read from the request, not configured: it is the host the browser addressed
 * (the `Host` header, or `X-Forwarded-Host` from a trusted proxy) with the scheme it used
 * (`X-Forwarded-Proto` from a trusted proxy, else the request's own scheme). A page cannot choose the `Host`
 * its browser sends, so an `Origin` naming that same host is a page served from this host. An `https:`
 * origin at this host is taken as ours even when the request reached us over plain HTTP (a TLS-terminating
 * proxy that does not say so): only whoever holds this host's certificate can serve it. A plain `http:`
 * origin at this host is ours only when the request itself was plain HTTP.
 */

import { isTrustedPeer } from "./client_ip.ts";

/** Where the browser sent the request: the authority and scheme it addressed. */
export interface RequestSite {
  /** `host[:port]` as the browser wrote it, or null when the request did not say. */
  host: string | null;
  /** `http:` or `https:`. */
  protocol: string;
}

/** The facts about a request the policy needs; taken before a WebSocket upgrade, when they can still be read. */
export interface RequestFacts {
  url: string;
  headers: Headers;
  /** The TCP peer's address, to decide whether its forwarded headers are believed. */
  peer?: string;
}

export interface OriginPolicy {
  /** True when a browser page at `origin` may use the service in this request. */
  allows(origin: string, request: RequestFacts): boolean;
  /** True when `origin` is the service's own origin, as this request addressed it. */
  isOwn(origin: string, request: RequestFacts): boolean;
}

/** The first value of a comma-separated forwarded header, as the proxy nearest the client wrote it. */
function firstValue(header: string | null): string | null {
  const value = header?.split(",")[0].trim();
  return value ? value : null;
}

/**
 * The host and scheme the browser addressed. `X-Forwarded-Host` and `X-Forwarded-Proto` count only from a
 * peer in `trustedProxies` (an address or a CIDR range, as for `X-Forwarded-For`); from anyone else they are
 * ignored.
 */
export function requestSite(request: RequestFacts, trustedProxies: readonly string[]): RequestSite {
  const url = new URL(request.url);
  const trusted = request.peer !== undefined && isTrustedPeer(request.peer, trustedProxies);
  const forwardedProto = trusted ? firstValue(request.headers.get("x-forwarded-proto"))?.toLowerCase() : null;
  const protocol = forwardedProto === "https" || forwardedProto === "http"
    ? `${forwardedProto}:`
    : url.protocol;
  const host = (trusted ? firstValue(request.headers.get("x-forwarded-host")) : null) ??
    request.headers.get("host") ?? url.host;
  return { host: host || null, protocol };
}

/** `scheme://host[:port]` of an origin, or null for `null` and anything that is not an http(s) origin. */
function parseOrigin(origin: string): URL | null {
  if (!/^https?:\/\//i.test(origin)) return null;
  try {
    return new URL(origin);
  } catch {
    return null;
  }
}

/** True when `origin` names the host the request was sent to, under the rules in this file's header. */
export function isOwnOrigin(origin: string, site: RequestSite): boolean {
  const parsed = parseOrigin(origin);
  if (!parsed || !site.host) return false;
  if (parsed.protocol !== site.protocol && parsed.protocol !== "https:") return false;
  try {
    // Written with the origin's scheme, so a default port spelled out (`:443`) compares equal to none.
    return new URL(`${parsed.protocol}//${site.host}`).host === parsed.host;
  } catch {
    return false; // a Host header that is not a host
  }
}

const policies = new WeakMap<object, OriginPolicy>();

/**
 * The origin policy for a configuration: `ALLOWED_ORIGINS` (compared as serialised origins, so a trailing
 * slash in the variable does not matter) plus the service's own origin. Built once per config object.
 */
export function originPolicy(
  config: { readonly allowedOrigins: readonly string[]; readonly trustedProxies: readonly string[] },
): OriginPolicy {
  const known = policies.get(config);
  if (known) return known;
  const listed = new Set(config.allowedOrigins.map((o) => parseOrigin(o)?.origin ?? o));
  const isOwn = (origin: string, request: RequestFacts) =>
    isOwnOrigin(origin, requestSite(request, config.trustedProxies));
  const policy: OriginPolicy = {
    allows: (origin, request) => listed.has(origin) || isOwn(origin, request),
    isOwn,
  };
  policies.set(config, policy);
  return policy;
}
