/**
 * Identities: the platform's session tokens, verified here with jose, and what both kinds of token carry
 * (this service's own socket tokens are minted and verified in `socket_tokens.ts`).
 * A session token is never accepted where a socket token is required, nor the other way round: socket tokens
 * carry `typ: "rt+jwt"`, `iss: "jasaweb-realtime"` and `aud: "websocket"`, and session verification rejects
 * that `typ`.
 */
import { createRemoteJWKSet, errors, jwtVerify } from "jose";
import type { JWTPayload, JWTVerifyGetKey } from "jose";
import { z } from "zod";

export const SOCKET_TOKEN_TYPE = "rt+jwt";
export const SOCKET_TOKEN_ISSUER = "jasaweb-realtime";
export const SOCKET_TOKEN_AUDIENCE = "websocket";
const CLOCK_TOLERANCE_SECONDS = 30;

export type Role = "admin" | "client";

export interface Identity {
  userId: string;
  role: Role;
  name: string;
  email: string;
}

export interface SocketIdentity extends Identity {
  tokenId: string;
  /** Epoch milliseconds at which the socket token expires. */
  expiresAt: number;
}

/** Why a token was refused; also the label of `realtime_auth_failures_total{reason}`. */
export type AuthFailureReason = "missing" | "malformed" | "expired" | "invalid";

export class AuthError extends Error {
  constructor(readonly reason: AuthFailureReason, message: string) {
    super(message);
    this.name = "AuthError";
  }
}

const claimsSchema = z.object({
  sub: z.string().min(1).max(200).optional(),
  id: z.union([z.string().min(1).max(200), z.number()]).optional(),
  role: z.enum(["admin", "client"]),
  email: z.string().max(320).default(""),
  name: z.string().max(200).default(""),
}).refine((c) => c.sub !== undefined || c.id !== undefined, "sub or id is required");

/** The identity in a verified token's claims; `AuthError("invalid")` when they do not name one. */
export function identityFrom(payload: JWTPayload): Identity {
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) throw new AuthError("invalid", "Token claims are invalid");
  const { sub, id, role, email, name } = claims.data;
  return { userId: String(sub ?? id), role, email, name };
}

function failure(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof errors.JWTExpired) return new AuthError("expired", "Token expired");
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return new AuthError("malformed", "Token is malformed");
  }
  return new AuthError("invalid", "Token is invalid");
}

const encoder = new TextEncoder();

export interface SessionVerifierOptions {
  secret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

export type SessionVerifier = (token: string | undefined) => Promise<Identity>;

/** Verifies platform session JWTs: HS256 with a secret, or RS256/ES256/EdDSA from a JWKS; `exp` required. */
export function createSessionVerifier(options: SessionVerifierOptions): SessionVerifier {
  const key: Uint8Array | JWTVerifyGetKey | undefined = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl))
    : options.secret
    ? encoder.encode(options.secret)
    : undefined;
  const algorithms = options.jwksUrl ? ["RS256", "ES256", "EdDSA"] : ["HS256"];
  return async function verifySession(token) {
    if (!token) throw new AuthError("missing", "Authentication required");
    if (!key) throw new AuthError("invalid", "Session verification is not configured");
    try {
      const { payload, protectedHeader } = await jwtVerify(token, key as Uint8Array, {
        algorithms,
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ["exp"],
      });
      if (protectedHeader.typ === SOCKET_TOKEN_TYPE) {
        throw new AuthError("invalid", "A socket token is not a session");
      }
      return identityFrom(payload);
    } catch (error) {
      throw failure(error);
    }
  };
}
