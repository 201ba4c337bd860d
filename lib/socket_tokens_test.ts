import assert from "node:assert/strict";
import { jwtVerify, SignJWT } from "jose";
import { AuthError, type Identity } from "./auth.ts";
import { signSessionToken } from "./dev/demo_users.ts";
import { createSocketTokens } from "./socket_tokens.ts";

const alice: Identity = { userId: "u1", role: "client", name: "Alice", email: "alice@example.com" };
const SECRET = "socket-secret-for-tests-0123456789abcdef";
const encoder = new TextEncoder();
const base64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const decode = (segment: string) => JSON.parse(atob(segment.replace(/-/g, "+").replace(/_/g, "/")));

/** Signs any header and payload segments with the secret, with WebCrypto (jose will not sign some of them). */
async function signRaw(header: string, payload: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [
      "sign",
    ],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${header}.${payload}`)));
  const signature = btoa(String.fromCharCode(...mac)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
  return `${header}.${payload}.${signature}`;
}

async function rejects(promise: Promise<unknown>, reason: string) {
  await assert.rejects(promise, (error: unknown) => error instanceof AuthError && error.reason === reason);
}

Deno.test("socket tokens: minted with typ rt+jwt, iss, aud, jti; verified exactly", async (t) => {
  let clock = Date.parse("2026-11-23T10:00:00Z");
  const tokens = createSocketTokens(SECRET, 300, () => clock);
  const { token, expiresAt } = await tokens.mint(alice);

  await t.step("header and claims", () => {
    const [header, payload] = token.split(".").slice(0, 2).map(decode);
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
    assert.deepEqual(
      { ...identity, tokenId: typeof identity.tokenId },
      { ...alice, tokenId: "string", expiresAt },
    );
  });

  await t.step(
    "expired at exp, with no tolerance on the socket; the API's 30 s tolerance is honoured",
    async () => {
      clock += 300_000;
      await rejects(tokens.verify(token), "expired");
      assert.equal((await tokens.verify(token, { clockTolerance: 30 })).userId, "u1");
      clock += 30_000;
      await rejects(tokens.verify(token, { clockTolerance: 30 }), "expired");
      clock -= 330_000;
    },
  );

  await t.step("another secret, a session token, or garbage are refused", async () => {
    await rejects(createSocketTokens("x".repeat(40), 300).verify(token), "invalid");
    await rejects(tokens.verify(await signSessionToken(SECRET, alice)), "invalid");
    await rejects(tokens.verify("abc"), "malformed");
    await rejects(tokens.verify("a.b.c.d"), "malformed");
    await rejects(tokens.verify(undefined), "missing");
    await rejects(tokens.verify(""), "missing");
  });
});

Deno.test("socket tokens are standard JWTs: jose verifies ours, and we verify jose's", async () => {
  const key = encoder.encode(SECRET);
  const tokens = createSocketTokens(SECRET, 300);
  const { token } = await tokens.mint(alice);
  const { payload, protectedHeader } = await jwtVerify(token, key, {
    typ: "rt+jwt",
    issuer: "jasaweb-realtime",
    audience: "websocket",
    requiredClaims: ["exp", "sub", "jti"],
  });
  assert.equal(protectedHeader.alg, "HS256");
  assert.equal(payload.sub, "u1");

  const fromJose = await new SignJWT({ role: "admin", name: "Rina", email: "" })
    .setProtectedHeader({ alg: "HS256", typ: "rt+jwt" }).setIssuer("jasaweb-realtime")
    .setAudience(["websocket", "other"]).setSubject("u9").setJti("j1").setIssuedAt().setExpirationTime("5m")
    .sign(key);
  const identity = await tokens.verify(fromJose);
  assert.equal(identity.userId, "u9");
  assert.equal(identity.role, "admin");
  assert.equal(identity.tokenId, "j1");
});

Deno.test("socket tokens: every spoilt header, claim and signature is refused", async (t) => {
  const tokens = createSocketTokens(SECRET, 300);
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: "u1",
    role: "client",
    jti: "j1",
    iss: "jasaweb-realtime",
    aud: "websocket",
    iat: now,
    exp: now + 300,
  };
  const sign = (header: Record<string, unknown>, body: Record<string, unknown>) =>
    new SignJWT(body).setProtectedHeader(header as { alg: string }).sign(encoder.encode(SECRET));
  const good = { alg: "HS256", typ: "rt+jwt" };
  const { token: valid } = await tokens.mint(alice);
  const [validHeader, validPayload, validSignature] = valid.split(".");

  const invalid: Record<string, string> = {
    "alg none, no signature": `${base64url({ alg: "none", typ: "rt+jwt" })}.${base64url(claims)}.`,
    "HS512 with the right secret": await sign({ alg: "HS512", typ: "rt+jwt" }, claims),
    "typ JWT": await sign({ alg: "HS256", typ: "JWT" }, claims),
    "no typ": await sign({ alg: "HS256" }, claims),
    "a crit extension": await signRaw(base64url({ ...good, crit: ["exp"], exp: 1 }), base64url(claims)),
    "payload edited to admin": `${validHeader}.${
      base64url({ ...decode(validPayload), role: "admin" })
    }.${validSignature}`,
    "signature cut short": valid.slice(0, -4),
    "signature of another token": `${validHeader}.${base64url(claims)}.${validSignature}`,
    "not base64url in the signature": `${validHeader}.${validPayload}.${validSignature.slice(0, -1)}+`,
    "wrong iss": await sign(good, { ...claims, iss: "someone-else" }),
    "wrong aud": await sign(good, { ...claims, aud: "api" }),
    "no exp": await sign(good, { ...claims, exp: undefined }),
    "exp as a string": await sign(good, { ...claims, exp: String(now + 300) }),
    "nbf in a minute": await sign(good, { ...claims, nbf: now + 60 }),
    "iat as a string": await sign(good, { ...claims, iat: "now" }),
    "no sub": await sign(good, { ...claims, sub: undefined }),
    "no jti": await sign(good, { ...claims, jti: undefined }),
    "unknown role": await sign(good, { ...claims, role: "superadmin" }),
  };
  for (const [name, token] of Object.entries(invalid)) {
    await t.step(`${name}: invalid`, () => rejects(tokens.verify(token), "invalid"));
  }
  const malformed: Record<string, string> = {
    "header not JSON": `${btoa("{nope").replace(/=+$/, "")}.${validPayload}.${validSignature}`,
    "header an array": `${base64url([good])}.${validPayload}.${validSignature}`,
    "header with a space": ` ${valid}`,
  };
  for (const [name, token] of Object.entries(malformed)) {
    await t.step(`${name}: malformed`, () => rejects(tokens.verify(token), "malformed"));
  }
  await t.step("a signed payload that is not a JSON object: malformed", async () => {
    const token = await signRaw(base64url(good), btoa("[1,2]").replace(/=+$/, ""));
    await rejects(tokens.verify(token), "malformed");
  });
  await t.step("nbf just passed and an audience list holding ours: accepted", async () => {
    const token = await sign(good, { ...claims, nbf: now - 1, aud: ["other", "websocket"] });
    assert.equal((await tokens.verify(token)).userId, "u1");
  });
});
