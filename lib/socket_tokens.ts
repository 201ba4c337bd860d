/**
 * This service's own socket tokens: compact JWS, HS256 with `WS_TOKEN_SECRET`, `typ: "rt+jwt"`, issuer and
 * audience pinned, `exp`, `sub` and `jti` required. Only this service mints them and only it reads them, so
 * they are signed and checked here with one synchronous node:crypto HMAC rather than jose's `jwtVerify`:
 * a handshake spent ~80 µs there (its asynchronous WebCrypto call alone ~60 µs) against ~15 µs here, the
 * largest share of our own code in a handshake. Platform session tokens (any algorithm, JWKS) stay with jose.
 */
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import {
  AuthError,
  type Identity,
  identityFrom,
  SOCKET_TOKEN_AUDIENCE,
  SOCKET_TOKEN_ISSUER,
  SOCKET_TOKEN_TYPE,
  type SocketIdentity,
} from "./auth.ts";

const OUR_HEADER: Readonly<Record<string, unknown>> = Object.freeze({ alg: "HS256", typ: SOCKET_TOKEN_TYPE });
const HEADER = base64url(JSON.stringify(OUR_HEADER));
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function base64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}

/** A JSON object from a base64url segment, or null when it is not one. */
function decodeSegment(segment: string): Record<string, unknown> | null {
  if (!BASE64URL.test(segment)) return null;
  try {
    const value = JSON.parse(Buffer.from(segment, "base64url").toString());
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** Compares two MACs as text in time that depends only on their length. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

export interface SocketTokens {
  /** Mints a socket token for this identity, valid for the configured TTL. */
  mint(identity: Identity): Promise<{ token: string; expiresAt: number }>;
  /** Verifies a socket token; `clockTolerance` (seconds) is 0 on the socket itself, where expiry is exact. */
  verify(token: string | undefined, options?: { clockTolerance?: number }): Promise<SocketIdentity>;
}

/** Socket tokens signed with `secret`, living `ttlSeconds`; refused with the reason the metrics count. */
export function createSocketTokens(
  secret: string,
  ttlSeconds: number,
  now: () => number = Date.now,
): SocketTokens {
  const key = Buffer.from(secret);
  const mac = (signingInput: string) => createHmac("sha256", key).update(signingInput).digest("base64url");

  function verifySync(token: string | undefined, clockTolerance: number): SocketIdentity {
    if (!token) throw new AuthError("missing", "Authentication required");
    const parts = token.split(".");
    if (parts.length !== 3) throw new AuthError("malformed", "Token is malformed");
    // The MAC first: only what we signed is decoded further (HS256 is the one algorithm we sign with).
    if (!sameText(parts[2], mac(`${parts[0]}.${parts[1]}`))) {
      const reason = decodeSegment(parts[0]) ? "invalid" : "malformed";
      throw new AuthError(reason, reason === "invalid" ? "Token is invalid" : "Token is malformed");
    }
    // Our own tokens all carry the one header we write; only others' need decoding.
    const header = parts[0] === HEADER ? OUR_HEADER : decodeSegment(parts[0]);
    const claims = decodeSegment(parts[1]);
    if (!header || !claims) throw new AuthError("malformed", "Token is malformed");
    // As jose would: only HS256, no extensions we do not understand, and only our own token type.
    if (header.alg !== "HS256" || "crit" in header || header.typ !== SOCKET_TOKEN_TYPE) {
      throw new AuthError("invalid", "Token is invalid");
    }
    const nowSeconds = Math.floor(now() / 1000);
    const { exp, nbf, iat, iss, aud, sub, jti } = claims;
    if (typeof exp !== "number" || !Number.isFinite(exp)) {
      throw new AuthError("invalid", "Token has no expiry");
    }
    if (exp <= nowSeconds - clockTolerance) throw new AuthError("expired", "Token expired");
    if (nbf !== undefined && (typeof nbf !== "number" || nbf > nowSeconds + clockTolerance)) {
      throw new AuthError("invalid", "Token is not valid yet");
    }
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (
      (iat !== undefined && typeof iat !== "number") || iss !== SOCKET_TOKEN_ISSUER ||
      !audiences.includes(SOCKET_TOKEN_AUDIENCE) || typeof sub !== "string" ||
      (typeof jti !== "string" || !jti)
    ) {
      throw new AuthError("invalid", "Token claims are invalid");
    }
    return { ...identityFrom(claims), tokenId: jti, expiresAt: exp * 1000 };
  }

  return {
    mint(identity) {
      const iat = Math.floor(now() / 1000);
      const exp = iat + ttlSeconds;
      const payload = base64url(JSON.stringify({
        role: identity.role,
        name: identity.name,
        email: identity.email,
        iss: SOCKET_TOKEN_ISSUER,
        aud: SOCKET_TOKEN_AUDIENCE,
        sub: identity.userId,
        jti: crypto.randomUUID(),
        iat,
        exp,
      }));
      const signingInput = `${HEADER}.${payload}`;
      const token = `${signingInput}.${mac(signingInput)}`;
      return Promise.resolve({ token, expiresAt: exp * 1000 });
    },
    verify(token, options = {}) {
      try {
        return Promise.resolve(verifySync(token, options.clockTolerance ?? 0));
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}
