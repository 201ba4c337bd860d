/**
 * The peers' socket-token check: HS256 over `header.payload` with node:crypto, then the same claims the
 * service pins (`typ: "rt+jwt"`, issuer, audience, `exp`). One HMAC and two small JSON parses a handshake,
 * as in the service's own check (`lib/socket_tokens.ts`, which also validates the identity claims).
 * Plain JavaScript so that Node and Deno peers share it.
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";

/** Returns a verifier: the token's claims, or null when the token is not a valid socket token. */
export function createTokenVerifier(secret) {
  const key = Buffer.from(secret);
  return function verify(token) {
    const parts = typeof token === "string" ? token.split(".") : [];
    if (parts.length !== 3) return null;
    const mac = createHmac("sha256", key).update(`${parts[0]}.${parts[1]}`).digest();
    const signature = Buffer.from(parts[2], "base64url");
    if (signature.length !== mac.length || !timingSafeEqual(signature, mac)) return null;
    try {
      const header = JSON.parse(Buffer.from(parts[0], "base64url").toString());
      const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString());
      if (header.alg !== "HS256" || header.typ !== "rt+jwt") return null;
      if (claims.iss !== "jasaweb-realtime" || claims.aud !== "websocket") return null;
      return typeof claims.exp === "number" && claims.exp * 1000 > Date.now() ? claims : null;
    } catch {
      return null;
    }
  };
}

/** The token from `Sec-WebSocket-Protocol: realtime.v1, <token>` (comma, with or without spaces). */
export function tokenFromProtocols(header) {
  return (header ?? "").split(",").map((p) => p.trim()).find((p) => p && p !== "realtime.v1");
}

/** The hello frame every peer sends first, standing in for the service's welcome. */
export const helloFrame = (worker) => JSON.stringify({ type: "hello", data: { worker } });
