import assert from "node:assert/strict";
import type { Relay } from "../lib/relay.ts";
import { createNoRelay } from "../lib/relay.ts";
import { eventually } from "./helpers/eventually.ts";
import { parsePrometheus, sampleValue } from "./helpers/prometheus.ts";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { connectWelcomed, type TestSocket } from "./helpers/socket.ts";
import { postEvent, projectChanged } from "./helpers/webhook.ts";

async function scrape(url: string, headers: HeadersInit = {}) {
  const res = await fetch(`${url}/metrics`, { headers });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

Deno.test("[metrics] /metrics parses as Prometheus text and moves with what the test did", async (t) => {
  const server = await startTestServer();
  const sockets: TestSocket[] = [];
  try {
    const user = randomUser();
    const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(user));
    sockets.push(socket);

    await t.step("M ping frames move realtime_frames_total{direction=in,type=ping} by M", async () => {
      const pings = async () =>
        sampleValue(await scrape(server.url), "realtime_frames_total", { direction: "in", type: "ping" }) ??
          0;
      const before = await pings();
      const M = 7;
      for (let i = 0; i < M; i++) socket.send({ type: "ping", id: `p${i}` });
      await socket.collect("pong", M);
      assert.equal(await pings() - before, M);
    });

    await t.step("connections by role, a webhook, and a delivery latency observation", async () => {
      assert.equal((await postEvent(server.url, projectChanged(user.userId))).status, 202);
      await socket.next("project_update");
      const m = await scrape(server.url);
      assert.equal(sampleValue(m, "realtime_connections", { role: "client" }), 1);
      assert.equal(sampleValue(m, "realtime_connections", { role: "admin" }), 0);
      assert.equal(sampleValue(m, "realtime_webhooks_total", { status: "accepted" }), 1);
      assert.equal(sampleValue(m, "realtime_delivery_latency_seconds_count"), 1);
      for (
        const name of [
          "realtime_relay_lag_seconds",
          "realtime_slow_consumers_total",
          "realtime_auth_failures_total",
          "realtime_rate_limited_total",
        ]
      ) {
        assert.ok(m.get(name)?.help, `${name} declared with HELP`);
      }
    });

    await t.step("a refused token shows in realtime_auth_failures_total", async () => {
      const res = await fetch(`${server.url}/api/websocket/token`, { method: "POST" });
      assert.equal(res.status, 401);
      await res.body?.cancel();
      assert.equal(
        sampleValue(await scrape(server.url), "realtime_auth_failures_total", { reason: "missing" }),
        1,
      );
    });
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    await server.close();
  }
});

Deno.test("[metrics] METRICS_TOKEN guards /metrics with a bearer token", async () => {
  const server = await startTestServer({ env: { METRICS_TOKEN: "scrape-secret" } });
  try {
    for (const header of [undefined, "Bearer wrong", "scrape-secret"]) {
      const res = await fetch(`${server.url}/metrics`, { headers: header ? { authorization: header } : {} });
      assert.equal(res.status, 401, String(header));
      assert.equal((await res.json()).error.code, "unauthorized");
    }
    await scrape(server.url, { authorization: "Bearer scrape-secret" });
  } finally {
    await server.close();
  }
});

Deno.test("[metrics] two isolates sharing KV: one scrape covers both", async () => {
  const dir = await Deno.makeTempDir();
  const a = await startTestServer({ kvPath: `${dir}/kv` });
  const b = await startTestServer({ kvPath: `${dir}/kv` });
  const sockets: TestSocket[] = [];
  try {
    for (const server of [a, b]) {
      sockets.push((await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()))).socket);
    }
    sockets[1].send({ type: "ping" });
    await sockets[1].next("pong");
    // B's snapshot reaches KV on its next beat (every second).
    const m = await eventually(
      async () => {
        const scraped = await scrape(a.url);
        const pings = sampleValue(scraped, "realtime_frames_total", { direction: "in", type: "ping" });
        return pings === 1 ? scraped : undefined;
      },
      5000,
      "B's ping in A's scrape",
    );
    assert.equal(sampleValue(m, "realtime_isolates"), 2);
    assert.equal(sampleValue(m, "realtime_connections", { role: "client" }), 2);
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[health] shape, degraded at capacity, unhealthy (503) when KV fails", async (t) => {
  await t.step("healthy: the shape README's GET /health documents, with kv and relay checks", async () => {
    const server = await startTestServer();
    try {
      const res = await fetch(`${server.url}/health`);
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.status, "healthy");
      for (
        const field of [
          "activeConnections",
          "messagesPerSecond",
          "averageLatency",
          "errorRate",
          "memoryUsage",
        ]
      ) {
        assert.equal(typeof body.metrics[field], "number", field);
      }
      assert.deepEqual(body.checks.map((c: { name: string }) => c.name), [
        "connection_count",
        "latency",
        "error_rate",
        "kv",
        "relay",
      ]);
      const latency = body.checks.find((c: { name: string }) => c.name === "latency");
      assert.deepEqual({ ...latency, value: 0 }, {
        name: "latency",
        status: "pass",
        value: 0,
        threshold: 50,
      });
      assert.equal(body.checks.find((c: { name: string }) => c.name === "error_rate").threshold, 0.01);
      assert.equal(body.checks.find((c: { name: string }) => c.name === "kv").status, "pass");
    } finally {
      await server.close();
    }
  });

  await t.step("degraded when the sockets reach MAX_CONNECTIONS; a broken relay also degrades", async () => {
    const broken: Relay = {
      ...createNoRelay(),
      health: () => ({ name: "redis", healthy: false, detail: "down" }),
    };
    const server = await startTestServer({ env: { MAX_CONNECTIONS: "2" } });
    const relayDown = await startTestServer({ relay: broken });
    const sockets: TestSocket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        sockets.push((await connectWelcomed(server.wsUrl, await server.socketToken(randomUser()))).socket);
      }
      const res = await fetch(`${server.url}/health`);
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.status, "degraded");
      assert.deepEqual(
        body.checks.find((c: { name: string }) => c.name === "connection_count"),
        { name: "connection_count", status: "warn", value: 2, threshold: 2 },
      );
      const relayBody = await (await fetch(`${relayDown.url}/health`)).json();
      assert.equal(relayBody.status, "degraded");
      assert.deepEqual(relayBody.checks.find((c: { name: string }) => c.name === "relay"), {
        name: "relay",
        status: "warn",
        value: "redis",
        detail: "down",
      });
    } finally {
      await Promise.all(sockets.map((s) => s.close()));
      await server.close();
      await relayDown.close();
    }
  });

  await t.step("unhealthy with 503 when the KV round trip fails", async () => {
    const server = await startTestServer();
    const set = server.kv.set.bind(server.kv);
    // The heartbeat's write, the probe's round trip, fails as a broken KV would; everything else keeps working.
    server.kv.set = (key, value, options) =>
      key[0] === "isolates" ? Promise.reject(new Error("disk I/O error")) : set(key, value, options);
    try {
      // The heartbeat runs in the background once a second; /health answers with its latest verdict.
      const body = await eventually(
        async () => {
          const res = await fetch(`${server.url}/health`);
          const report = await res.json();
          return res.status === 503 ? report : undefined;
        },
        5000,
        "/health to answer 503",
      );
      assert.equal(body.status, "unhealthy");
      const kv = body.checks.find((c: { name: string }) => c.name === "kv");
      assert.equal(kv.status, "fail");
      assert.match(kv.detail, /disk I\/O error/);
    } finally {
      server.kv.set = set;
      await server.close();
    }
  });
});
