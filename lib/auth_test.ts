import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { AuthError, createSessionVerifier, createSocketTokens, type Identity } from "./auth.ts";
import { signSessionToken } from "./demo_users.ts";

const alice: Identity = { userId: "u1", role: "client", name: "Alice", email: "alice@example.com" };
const SESSION_SECRET = "session-secret-for-tests-0123456789abcdef";
const SOCKET_SECRET = "socket-secret-for-tests-0123456789abcdef";

async function rejects(promise: Promise<unknown>, reason: string) {
  await assert.rejects(promise, (error: unknown) => error instanceof AuthError && error.reason === reason);
}

Deno.test("socket tokens: minted with typ rt+jwt, iss, aud, jti; verified exactly", async (t) => {
  let clock = Date.parse("2026-11-23T10:00:00Z");
  const tokens = createSocketTokens(SOCKET_SECRET, 300, () => clock);
  const { token, expiresAt } = await tokens.mint(alice);

  await t.step("header and claims", () => {
    const [header, payload] = token.split(".").slice(0, 2).map((p) =>
      JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/")))
    );
    assert.deepEqual(header, { alg: "HS256", typ: "rt+jwt" });
    assert.equal(payload.iss, "jasaweb-realtime");
    assert.equal(payload.aud, "websocket");
    assert.equal(payload.sub, "u1");
    assert.equal(payload.exp - payload.iat, 300);
    assert.ok(payload.jti);
    assert.equal(expiresAt, payload.exp * 1000);
  });

  await t.step("verifies to the identity", async () => {
    const identity = await tokens.verify(token);
    assert.equal(identity.userId, "u1");
    assert.equal(identity.role, "client");
    assert.equal(identity.expiresAt, expiresAt);
  });

  await t.step("expired at exp, with no tolerance on the socket", async () => {
    clock += 300_000;
    await rejects(tokens.verify(token), "expired");
    clock -= 300_000;
  });

  await t.step("another secret, a session token, or garbage are refused", async () => {
    await rejects(createSocketTokens("x".repeat(40), 300).verify(token), "invalid");
    const session = await signSessionToken(SOCKET_SECRET, alice);
    await rejects(tokens.verify(session), "invalid");
    await rejects(tokens.verify("abc"), "malformed");
    await rejects(tokens.verify(undefined), "missing");
  });

  await t.step("a socket token is never a session token, even with the same secret", async () => {
    const verifySession = createSessionVerifier({ secret: SOCKET_SECRET });
    const current = await createSocketTokens(SOCKET_SECRET, 300).mint(alice);
    await rejects(verifySession(current.token), "invalid");
  });
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
