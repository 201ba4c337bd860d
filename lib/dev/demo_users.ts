/**
 * Development only: demo users and a session-token signer standing in for the platform's sign-in.
 */
import { SignJWT } from "jose";
import type { Identity } from "../auth.ts";

export const DEMO_USERS: readonly Identity[] = [
  { userId: "client-budi", role: "client", name: "Budi Santoso", email: "budi@example.com" },
  { userId: "client-sari", role: "client", name: "Sari Dewi", email: "sari@example.com" },
  { userId: "admin-rina", role: "admin", name: "Rina (JasaWeb admin)", email: "rina@jasaweb.example" },
];

/** Signs a platform-style HS256 session token, as the platform would after a sign-in. */
export async function signSessionToken(
  secret: string,
  identity: Identity,
  options: { ttlSeconds?: number; issuer?: string; audience?: string } = {},
): Promise<string> {
  let jwt = new SignJWT({ role: identity.role, name: identity.name, email: identity.email })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(identity.userId)
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSeconds ?? 8 * 3600}s`);
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return await jwt.sign(new TextEncoder().encode(secret));
}
