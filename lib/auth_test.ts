import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { AuthError, createSessionVerifier, type Identity } from "./auth.ts";
import { createSocketTokens } from "./socket_tokens.ts";
import { signSessionToken } from "./dev/demo_users.ts";

const alice: Identity = { userId: "u1", role: "client", name: "Alice", email: "alice@example.com" };
const SESSION_SECRET = "session-secret-for-tests-0123456789abcdef";

async function rejects(promise: Promise<unknown>, reason: string) {
  await assert.rejects(promise, (error: unknown) => error instanceof AuthError && error.reason === reason);
}

Deno.test("a socket token is never a session token, even with the same secret", async () => {
  const secret = "socket-secret-for-tests-0123456789abcdef";
  const verifySession = createSessionVerifier({ secret });
  const current = await createSocketTokens(secret, 300).mint(alice);
  await rejects(verifySession(current.token), "invalid");
});

Deno.test("session tokens: HS256 with exp required, 30 s tolerance, issuer and audience when set", async (t) => {
  const verify = createSessionVerifier({ secret: SESSION_SECRET, issuer: "jasaweb", audience: "app" });
  await t.step("accepted with sub, role, name, email", async () => {
    const token = await signSessionToken(SESSION_SECRET, alice, { issuer: "jasaweb", audience: "app" });
    assert.deepEqual(await verify(token), alice);
  });
  await t.step("`id` stands in for `sub`", async () => {
    const token = await new SignJWT({ id: 42, role: "admin" }).setProtectedHeader({ alg: "HS256" })
      .setIssuer("jasaweb").setAudience("app").setExpirationTime("1h").sign(
        new TextEncoder().encode(SESSION_SECRET),
      );
    assert.equal((await verify(token)).userId, "42");
  });
  await t.step("no exp, wrong issuer, or expired beyond 30 s are refused", async () => {
    const key = new TextEncoder().encode(SESSION_SECRET);
    const noExp = await new SignJWT({ sub: "u", role: "client" }).setProtectedHeader({ alg: "HS256" })
      .setIssuer("jasaweb").setAudience("app").sign(key);
    await assert.rejects(verify(noExp), AuthError);
    const wrongIssuer = await signSessionToken(SESSION_SECRET, alice, { issuer: "other", audience: "app" });
    await assert.rejects(verify(wrongIssuer), AuthError);
    const now = Math.floor(Date.now() / 1000);
    const justExpired = await new SignJWT({ sub: "u", role: "client" }).setProtectedHeader({ alg: "HS256" })
      .setIssuer("jasaweb").setAudience("app").setExpirationTime(now - 10).sign(key);
    assert.equal((await verify(justExpired)).userId, "u");
    const longExpired = await new SignJWT({ sub: "u", role: "client" }).setProtectedHeader({ alg: "HS256" })
      .setIssuer("jasaweb").setAudience("app").setExpirationTime(now - 60).sign(key);
    await rejects(verify(longExpired), "expired");
  });
  await t.step("a role outside admin/client is refused", async () => {
    const token = await new SignJWT({ sub: "u", role: "root" }).setProtectedHeader({ alg: "HS256" })
      .setIssuer("jasaweb").setAudience("app").setExpirationTime("1h").sign(
        new TextEncoder().encode(SESSION_SECRET),
      );
    await rejects(verify(token), "invalid");
  });
});

Deno.test("session tokens from a JWKS (ES256) served by a local endpoint", async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => Response.json({ keys: [jwk] }),
  );
  try {
    const verify = createSessionVerifier({
      jwksUrl: `http://127.0.0.1:${server.addr.port}/.well-known/jwks.json`,
    });
    const token = await new SignJWT({ sub: "u9", role: "admin", name: "Rina" })
      .setProtectedHeader({ alg: "ES256", kid: "k1" }).setExpirationTime("5m").sign(privateKey);
    assert.deepEqual(await verify(token), { userId: "u9", role: "admin", name: "Rina", email: "" });
    const hs = await signSessionToken(SESSION_SECRET, alice);
    await assert.rejects(verify(hs), AuthError);
  } finally {
    await server.shutdown();
  }
});
