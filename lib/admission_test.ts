/**
 * Admission control on real parts: socket tokens minted and checked with a real secret, connection places in
 * a real (in-memory) KV.
 */
import assert from "node:assert/strict";
import { type Admission, createAdmissionControl } from "./admission.ts";
import type { Identity } from "./auth.ts";
import { createConnectionPlaces } from "./connection_places.ts";
import { createIsolateDirectory } from "./isolates.ts";
import { openKv } from "./kv.ts";
import { counterTotal, createMetrics } from "./metrics.ts";
import { createSocketTokens } from "./socket_tokens.ts";

const SECRET = "admission-test-secret-0123456789abcdef";
const client = { clientIp: "203.0.113.7", userAgent: "test" };
const user = (userId: string): Identity => ({
  userId,
  role: "client",
  name: userId,
  email: `${userId}@x.test`,
});

async function setUp(limits: { maxConnections?: number; perUser?: number; perIp?: number } = {}) {
  const kv = await openKv(":memory:");
  const metrics = createMetrics();
  const isolateId = "isolate-1";
  const places = createConnectionPlaces(kv, {
    isolateId,
    isolates: createIsolateDirectory(kv),
    perUser: limits.perUser ?? 0,
    perIp: limits.perIp ?? 0,
    log: { warn: () => {} },
  });
  await places.register();
  const socketTokens = createSocketTokens(SECRET, 3600);
  /** Sockets open on the isolate: what the hub would hold. */
  const open = new Set<string>();
  const admission = createAdmissionControl({
    maxConnections: limits.maxConnections ?? 1000,
    connectionTimeoutMs: 60_000,
    socketTokens,
    places,
    openCount: () => open.size,
    metrics,
    now: Date.now,
  });
  const tokenOf = async (userId: string) => (await socketTokens.mint(user(userId))).token;
  return {
    admission,
    places,
    metrics,
    open,
    admit: async (userId: string) => admission.admit(await tokenOf(userId), client),
    /** Opens an admitted socket as the lifecycle does: attached, then held open. */
    attach(a: Admission) {
      const attached = admission.attach(a.connectionId);
      if (attached) open.add(a.connectionId);
      return attached;
    },
    async close() {
      await places.close();
      kv.close();
    },
  };
}

Deno.test("admission: a missing or forged token is refused invalidAuth, counted by reason", async () => {
  const s = await setUp();
  try {
    const missing = await s.admission.admit(undefined, client);
    assert.equal(missing.refusal, "invalidAuth");
    assert.equal(missing.identity, undefined);
    const otherSecret = createSocketTokens("another-secret-0123456789abcdefghijkl", 3600);
    const forged = await s.admission.admit((await otherSecret.mint(user("u1"))).token, client);
    assert.equal(forged.refusal, "invalidAuth");
    const snapshot = s.metrics.snapshot();
    assert.equal(counterTotal(snapshot, "realtime_auth_failures_total", { reason: "missing" }), 1);
    assert.equal(counterTotal(snapshot, "realtime_auth_failures_total"), 2);
  } finally {
    await s.close();
  }
});

Deno.test("admission: sockets being admitted count against MAX_CONNECTIONS until attached or abandoned", async () => {
  const s = await setUp({ maxConnections: 2 });
  try {
    const a = await s.admit("u1");
    const b = await s.admit("u2");
    assert.equal(a.refusal, undefined);
    assert.equal(b.identity?.userId, "u2");
    // What the session will need of the socket comes with its admission.
    assert.deepEqual([b.clientIp, b.userAgent], [client.clientIp, client.userAgent]);
    assert.equal((await s.admit("u3")).refusal, "tryAgainLater");
    s.admission.abandon(a.connectionId);
    const c = await s.admit("u3");
    assert.equal(c.refusal, undefined);
    // Attached, b counts as an open socket instead: still two.
    assert.equal(s.attach(b), true);
    assert.equal((await s.admit("u4")).refusal, "tryAgainLater");
    assert.equal(counterTotal(s.metrics.snapshot(), "realtime_rate_limited_total", { kind: "isolate" }), 2);
    // A socket abandoned before it opened cannot be attached later.
    assert.equal(s.attach(a), false);
  } finally {
    await s.close();
  }
});

Deno.test("admission: a full user is refused connectionLimit; a closed socket's release frees its place", async () => {
  const s = await setUp({ perUser: 1 });
  try {
    const first = await s.admit("u1");
    assert.equal(s.attach(first), true);
    assert.equal((await s.admit("u1")).refusal, "connectionLimit");
    assert.equal(counterTotal(s.metrics.snapshot(), "realtime_rate_limited_total", { kind: "user" }), 1);
    assert.equal((await s.admit("u2")).refusal, undefined, "another user has a place of their own");
    s.admission.release(first.connectionId);
    await s.places.settled();
    assert.equal((await s.admit("u1")).refusal, undefined);
  } finally {
    await s.close();
  }
});

Deno.test("admission: a handshake still not open at its deadline loses its admission and its place", async () => {
  const s = await setUp({ perUser: 1 });
  try {
    const slow = await s.admit("u1");
    const quick = await s.admit("u2");
    // The deadline is the connection timeout, at most 10 s.
    s.admission.expire(Date.now() + 5_000);
    assert.equal(s.attach(quick), true, "within its deadline");
    s.admission.expire(Date.now() + 10_001);
    assert.equal(s.attach(slow), false, "past its deadline");
    await s.places.settled();
    assert.equal((await s.admit("u1")).refusal, undefined, "its place was given back");
  } finally {
    await s.close();
  }
});

Deno.test("admission: abandonAll() gives back every waiting admission; stop() refuses later sockets 1001", async () => {
  const s = await setUp({ maxConnections: 2 });
  try {
    const waiting = [await s.admit("u1"), await s.admit("u2")];
    s.admission.abandonAll();
    for (const a of waiting) assert.equal(s.attach(a), false);
    assert.equal((await s.admit("u3")).refusal, undefined, "room again under MAX_CONNECTIONS");
    s.admission.stop();
    const late = await s.admit("u4");
    assert.equal(late.refusal, "shuttingDown");
    assert.equal(late.identity?.userId, "u4");
  } finally {
    await s.close();
  }
});
