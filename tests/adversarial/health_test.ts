/**
 * `/health` under one client's legal load: a load balancer pulls an instance that answers 503, and every
 * instance sharing the KV reports the same figures, so a burst of one user's writes must not make it unhealthy.
 * What lasts still does: delivery slow for most of the window, or a KV that really fails.
 */
import assert from "node:assert/strict";
import type { HealthCheck, HealthReport } from "../../lib/health.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { randomUser, startTestServer, type TestServer } from "../helpers/server.ts";
import { connectWelcomed, type TestSocket } from "../helpers/socket.ts";
import { eventually } from "../helpers/eventually.ts";

async function health(server: TestServer) {
  const res = await fetch(`${server.url}/health`);
  return { status: res.status, body: await res.json() as HealthReport };
}

const checkOf = (report: HealthReport, name: string) => report.checks.find((c) => c.name === name)!;

/** Writes a live record for a made-up isolate whose last seconds' delivery latency was `window`. */
async function otherIsolate(server: TestServer, window: Array<[number, number]>) {
  await server.service.parts.isolates.beat({
    isolateId: `other-${crypto.randomUUID()}`,
    startedAt: Date.now(),
    gauges: {
      connectionsByRole: { admin: 0, client: 0 },
      messagesPerSecond: window.at(-1)![1],
      averageLatency: window.at(-1)![0],
      errorRate: 0,
      relay: { name: "none", healthy: true },
      memoryRss: 0,
      latencyWindow: window,
    },
    metrics: createMetrics().snapshot(),
  });
}

Deno.test("[adversarial] a burst of one user's writes does not make /health unhealthy", async () => {
  const server = await startTestServer();
  const sockets: TestSocket[] = [];
  try {
    const admin = await connectWelcomed(server.wsUrl, await server.socketToken(randomUser("admin")));
    sockets.push(admin.socket);
    admin.socket.send({ type: "subscribe", data: { types: ["metrics"] } });
    const client = randomUser();
    for (let i = 0; i < 3; i++) {
      sockets.push((await connectWelcomed(server.wsUrl, await server.socketToken(client))).socket);
    }
    // Every socket of the user sends its whole minute's allowance at once: 360 messages to the support inbox,
    // each stored in one stream (their commits contend for its head) and delivered to the admin.
    const perSocket = 120;
    for (const socket of sockets.slice(1)) {
      for (let i = 0; i < perSocket; i++) {
        socket.send({
          type: "user_message",
          id: i,
          data: { toUserId: "admins", subject: "Hi", content: `m${i}` },
        });
      }
    }
    const samples: Array<{ status: number; latency: HealthCheck; kv: HealthCheck }> = [];
    const sample = async () => {
      const { status, body } = await health(server);
      samples.push({ status, latency: checkOf(body, "latency"), kv: checkOf(body, "kv") });
    };
    const burstDone = Promise.all(sockets.slice(1).map((s) => s.collect("sent", perSocket, 60_000)));
    let done = false;
    burstDone.finally(() => done = true);
    // A load balancer asks every few seconds; ten times a second is plenty to see every second's verdict.
    const pause = () => new Promise((resolve) => setTimeout(resolve, 100));
    while (!done) await sample().then(pause);
    await burstDone;
    await admin.socket.collect((f) => f.type === "user_message", 3 * perSocket, 30_000);
    // The isolate's record carries the burst's seconds from its next beat on: keep sampling through two beats.
    const until = Date.now() + 2500;
    while (Date.now() < until) await sample().then(pause);
    const slowest = Math.max(
      ...samples.map((s) => Number(s.latency.detail?.match(/last second ([\d.]+)/)?.[1] ?? 0)),
    );
    console.log(
      `burst: ${samples.length} /health samples, ${
        samples.filter((s) => s.status !== 200).length
      } not 200, ` +
        `latency warned in ${samples.filter((s) => s.latency.status === "warn").length} ` +
        `(slowest second ${slowest} ms), kv warned in ${
          samples.filter((s) => s.kv.status === "warn").length
        }`,
    );
    assert.deepEqual(samples.filter((s) => s.status !== 200), [], "/health answered 503 during the burst");
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    await server.close();
  }
});

Deno.test("[adversarial] /health still fails on sustained slow delivery and on a KV that really fails", async (t) => {
  await t.step("another isolate slow for three seconds of ten: degraded (200)", async () => {
    const server = await startTestServer();
    try {
      await otherIsolate(server, [...new Array(7).fill([2, 10]), [820, 40], [820, 40], [820, 40]]);
      const { status, body } = await health(server);
      assert.equal(status, 200);
      assert.equal(body.status, "degraded");
      assert.equal(checkOf(body, "latency").status, "warn");
    } finally {
      await server.close();
    }
  });

  await t.step("another isolate slow for most of the window: unhealthy (503)", async () => {
    const server = await startTestServer();
    try {
      await otherIsolate(server, [...new Array(3).fill([2, 10]), ...new Array(7).fill([820, 40])]);
      const { status, body } = await health(server);
      assert.equal(status, 503);
      assert.equal(body.status, "unhealthy");
      assert.deepEqual(checkOf(body, "latency"), {
        name: "latency",
        status: "fail",
        value: 820,
        threshold: 50,
        detail: "median of the last 10 s; last second 820 ms",
      });
    } finally {
      await server.close();
    }
  });

  await t.step("a closed KV handle: unhealthy (503) within a few seconds, answered at once", async () => {
    const server = await startTestServer();
    try {
      assert.equal((await health(server)).status, 200);
      server.kv.close();
      const failed = await eventually(
        async () => {
          const { status, body } = await health(server);
          return status === 503 ? body : undefined;
        },
        5000,
        "/health to answer 503",
      );
      assert.equal(failed.status, "unhealthy");
      assert.equal(checkOf(failed, "kv").status, "fail");
    } finally {
      await server.close().catch(() => {});
    }
  });
});
