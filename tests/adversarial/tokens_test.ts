/**
 * Hostile tokens against every door (SPEC §3): the socket handshake, the `auth` frame, the token endpoint and
 * the notification API. Each is refused with the documented answer: close 1008 "Invalid authentication", or
 * HTTP 401; a client's token never opens admin frames.
 */
import assert from "node:assert/strict";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import type { Identity } from "../../lib/auth.ts";
import { signSessionToken } from "../../lib/dev/demo_users.ts";
import {
  randomUser,
  startTestServer,
  TEST_SESSION_SECRET,
  TEST_WS_SECRET,
  type TestServer,
} from "../helpers/server.ts";
import { connectWelcomed, openSocket } from "../helpers/socket.ts";
import { rawTcp, upgradeRequest } from "./helpers.ts";

const ISSUER = "https://platform.jasaweb.example";
const AUDIENCE = "jasaweb-realtime";
const encoder = new TextEncoder();
const base64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The claims of a good socket token for this user, to be spoiled one at a time. */
function socketClaims(user: Identity) {
  return {
    sub: user.userId,
    role: user.role,
    name: user.name,
    email: user.email,
    jti: crypto.randomUUID(),
    iss: "jasaweb-realtime",
    aud: "websocket",
    iat: nowSeconds(),
    exp: nowSeconds() + 300,
  };
}

async function sign(
  claims: Record<string, unknown>,
  key: string | Uint8Array,
  header: { alg?: string; typ?: string } = {},
): Promise<string> {
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: header.alg ?? "HS256", typ: header.typ ?? "rt+jwt" })
    .sign(typeof key === "string" ? encoder.encode(key) : key);
}

/** `alg: none`, which jose refuses to sign: built by hand, with an empty signature. */
const unsigned = (claims: Record<string, unknown>, typ = "rt+jwt") =>
  `${base64url({ alg: "none", typ })}.${base64url(claims)}.`;

/** A valid token whose payload was edited afterwards (a client making itself admin). */
function tampered(token: string, changes: Record<string, unknown>): string {
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
  return `${header}.${base64url({ ...claims, ...changes })}.${signature}`;
}

/** A PEM public key's bytes used as an HMAC secret: the classic RS256 → HS256 confusion. */
async function publicKeyBytes(): Promise<Uint8Array> {
  const { publicKey } = await generateKeyPair("RS256", { extractable: true });
  return encoder.encode(await exportSPKI(publicKey));
}

async function hostileSocketTokens(server: TestServer, user: Identity): Promise<Record<string, string>> {
  const claims = socketClaims(user);
  const good = await server.socketToken(user);
  return {
    "alg none": unsigned(claims),
    "alg none, upper case": unsigned(claims).replace(
      base64url({ alg: "none", typ: "rt+jwt" }),
      base64url({ alg: "NONE", typ: "rt+jwt" }),
    ),
    "HS256 signed with a public key's bytes": await sign(claims, await publicKeyBytes()),
    "HS512 with the right secret": await sign(claims, TEST_WS_SECRET, { alg: "HS512" }),
    "wrong typ": await sign(claims, TEST_WS_SECRET, { typ: "JWT" }),
    "wrong aud": await sign({ ...claims, aud: "api" }, TEST_WS_SECRET),
    "wrong iss": await sign({ ...claims, iss: "someone-else" }, TEST_WS_SECRET),
    "expired a second ago": await sign({ ...claims, exp: nowSeconds() - 1 }, TEST_WS_SECRET),
    "expired a minute ago": await sign({ ...claims, exp: nowSeconds() - 60 }, TEST_WS_SECRET),
    "not yet valid (nbf in a minute)": await sign({ ...claims, nbf: nowSeconds() + 60 }, TEST_WS_SECRET),
    "no exp": await sign({ ...claims, exp: undefined }, TEST_WS_SECRET),
    "no jti": await sign({ ...claims, jti: undefined }, TEST_WS_SECRET),
    "unknown role": await sign({ ...claims, role: "superadmin" }, TEST_WS_SECRET),
    "signed with the session secret": await sign(claims, TEST_SESSION_SECRET),
    "a session token": await signSessionToken(TEST_SESSION_SECRET, user, {
      issuer: ISSUER,
      audience: AUDIENCE,
    }),
    "payload edited to admin": tampered(good, { role: "admin" }),
    "signature cut short": good.slice(0, -10),
    "garbage": "not.a.jwt",
  };
}

Deno.test("[adversarial] hostile tokens are refused at every door", async (t) => {
  const server = await startTestServer({
    env: {
      SESSION_ISSUER: ISSUER,
      SESSION_AUDIENCE: AUDIENCE,
      RATE_LIMIT_PER_IP: "0",
      RATE_LIMIT_PER_USER: "0",
    },
  });
  const user = randomUser();
  const session = (options: { ttlSeconds?: number; issuer?: string; audience?: string } = {}) =>
    signSessionToken(TEST_SESSION_SECRET, user, { issuer: ISSUER, audience: AUDIENCE, ...options });
  const postToken = (token: string) =>
    fetch(`${server.url}/api/websocket/token`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
  try {
    const hostile = await hostileSocketTokens(server, user);

    await t.step("GET /ws closes 1008 Invalid authentication for each", async () => {
      for (const [name, token] of Object.entries(hostile)) {
        const socket = await openSocket(server.wsUrl, ["realtime.v1", token]);
        assert.deepEqual(await socket.closed, { code: 1008, reason: "Invalid authentication" }, name);
      }
    });

    await t.step("the same tokens in ?token= close 1008 too", async () => {
      for (const [name, token] of Object.entries(hostile)) {
        const socket = await openSocket(`${server.wsUrl}?token=${encodeURIComponent(token)}`);
        assert.deepEqual(await socket.closed, { code: 1008, reason: "Invalid authentication" }, name);
      }
    });

    await t.step("an auth frame with any of them closes a live socket 1008", async () => {
      for (const [name, token] of Object.entries(hostile)) {
        const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(user));
        socket.send({ type: "auth", data: { token } });
        assert.deepEqual(await socket.closed, { code: 1008, reason: "Invalid authentication" }, name);
      }
    });

    await t.step("oversized tokens: 60 KB is refused 1008; 100 KB never reaches our code (400)", async () => {
      const big = (size: number) => `${hostile["wrong aud"]}${"A".repeat(size)}`;
      const socket = await openSocket(server.wsUrl, ["realtime.v1", big(60_000)]);
      assert.deepEqual(await socket.closed, { code: 1008, reason: "Invalid authentication" });
      for (
        const request of [
          upgradeRequest("/ws", `realtime.v1, ${big(100_000)}`),
          upgradeRequest(`/ws?token=${big(100_000)}`),
        ]
      ) {
        const tcp = await rawTcp(server.port);
        // The runtime may answer 400 and close, or reset the connection while the request is still arriving.
        await tcp.write(request).catch(() => {});
        const { bytes, ended } = await tcp.readToEnd(3000);
        assert.ok(ended);
        assert.match(new TextDecoder().decode(bytes), /^(HTTP\/1\.1 400 |$)/);
        tcp.close();
      }
    });

    await t.step(
      "POST /api/websocket/token refuses socket tokens and hostile sessions with 401",
      async () => {
        const claims = {
          sub: user.userId,
          role: "client",
          iss: ISSUER,
          aud: AUDIENCE,
          exp: nowSeconds() + 600,
        };
        const cases: Record<string, string> = {
          "a socket token": await server.socketToken(user),
          "alg none session": unsigned(claims, "JWT"),
          "session signed with a public key's bytes": await sign(claims, await publicKeyBytes(), {
            typ: "JWT",
          }),
          "session signed with the socket secret": await sign(claims, TEST_WS_SECRET, { typ: "JWT" }),
          "session with typ rt+jwt": await sign(claims, TEST_SESSION_SECRET, { typ: "rt+jwt" }),
          "session without exp": await sign({ ...claims, exp: undefined }, TEST_SESSION_SECRET, {
            typ: "JWT",
          }),
          "session expired beyond the 30 s tolerance": await session({ ttlSeconds: -60 }),
          "session not yet valid": await sign({ ...claims, nbf: nowSeconds() + 120 }, TEST_SESSION_SECRET, {
            typ: "JWT",
          }),
          "session of another issuer": await session({ issuer: "https://evil.example" }),
          "session for another audience": await session({ audience: "another-app" }),
          "session edited to admin": tampered(await session(), { role: "admin" }),
          "oversized session": `${await session()}${"A".repeat(30_000)}`,
        };
        for (const [name, token] of Object.entries(cases)) {
          const res = await postToken(token);
          assert.equal(res.status, 401, name);
          assert.equal((await res.json()).error.code, "unauthorized", name);
        }
        const cookie = await fetch(`${server.url}/api/websocket/token`, {
          method: "POST",
          headers: { cookie: `auth_token=${unsigned(claims, "JWT")}` },
        });
        assert.equal(cookie.status, 401);
        await cookie.body?.cancel();
      },
    );

    await t.step("a session expired within the 30 s clock tolerance is still accepted", async () => {
      const res = await postToken(await session({ ttlSeconds: -10 }));
      assert.equal(res.status, 200);
      await res.body?.cancel();
    });

    await t.step("GET /api/notifications refuses hostile socket tokens with 401", async () => {
      for (const [name, token] of Object.entries(hostile)) {
        // A session token is a valid credential here, and the API allows the socket token 30 s of clock skew.
        if (name === "a session token" || name === "expired a second ago") continue;
        const res = await fetch(`${server.url}/api/notifications`, {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(res.status, 401, name);
        await res.body?.cancel();
      }
    });

    await t.step("a client's token opens no admin frame, and nothing is stored", async () => {
      const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(user));
      const streams = ["all", "role:admin", `user:${user.userId}`, "user:victim"] as const;
      const before = await server.service.parts.store.heads([...streams]);
      const adminFrames = [
        { type: "system_announcement", data: { title: "Owned", message: "x", priority: "critical" } },
        { type: "admin_alert", data: { event: "x", message: "x", data: {}, requiresAction: true } },
        {
          type: "project_update",
          data: { userId: "victim", projectId: "p", projectName: "P", oldStatus: "a", newStatus: "b" },
        },
        {
          type: "payment_update",
          data: {
            userId: "victim",
            invoiceId: "i",
            projectId: "p",
            projectName: "P",
            amount: 1,
            status: "paid",
          },
        },
        { type: "user_message", data: { toUserId: "victim", subject: "Hi", content: "Phish" } },
        { type: "subscribe", data: { types: ["metrics"] } },
      ];
      for (const [i, frame] of adminFrames.entries()) socket.send({ ...frame, id: i });
      const errors = await socket.collect("error", adminFrames.length);
      assert.deepEqual(
        errors.map((e) => [e.data.code, e.data.replyTo]),
        adminFrames.map((_, i) => ["forbidden", i]),
      );
      assert.deepEqual(await server.service.parts.store.heads([...streams]), before);
      await socket.close();
    });
  } finally {
    await server.close();
  }
});
