import assert from "node:assert/strict";
import { createLogger } from "../lib/log.ts";
import { counterTotal, createMetrics } from "../lib/metrics.ts";
import { createRedisRelay } from "../lib/relay_redis.ts";
import { assertOnceInOrder, seqsOf } from "./helpers/delivery.ts";
import { assertTwoProcessRelay } from "./helpers/fanout.ts";
import { ignoreRedisTests, startRedis } from "./helpers/redis.ts";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { connectWelcomed } from "./helpers/socket.ts";
import { postEvent, projectChanged } from "./helpers/webhook.ts";

/** Resolves once `check()` holds, polling (a relay's connection state cannot be awaited). */
async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test({
  name:
    "[relay redis] RELAY=redis, two processes and a real redis-server: exactly once, in order; limits hold",
  ignore: ignoreRedisTests,
  async fn(t) {
    const redis = await startRedis();
    try {
      await assertTwoProcessRelay(t, { RELAY: "redis", REDIS_URL: redis.url });
    } finally {
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "[relay redis] Redis stopped and restarted: degrades loudly, sockets stay up, recovers, gaps are repaired",
  ignore: ignoreRedisTests,
  async fn(t) {
    const redis = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "relay_redis_" });
    const kvPath = `${dir}/realtime.kv`;
    const lines: string[] = [];
    const log = createLogger("warn", {}, (line) => lines.push(line));
    const metricsA = createMetrics();
    const metricsB = createMetrics();
    const relayOn = (metrics: ReturnType<typeof createMetrics>) => () =>
      createRedisRelay(redis.url, { log, metrics, maxReconnectDelayMs: 200 });
    const a = await startTestServer({ kvPath, relay: relayOn(metricsA), metrics: metricsA });
    const b = await startTestServer({ kvPath, relay: relayOn(metricsB), metrics: metricsB });
    const user = randomUser();
    const stream = `user:${user.userId}`;
    const { socket } = await connectWelcomed(b.wsUrl, await b.socketToken(user));
    const post = async (status: string) => {
      const res = await postEvent(a.url, projectChanged(user.userId, status));
      assert.equal(res.status, 202);
      await res.body?.cancel();
    };
    try {
      await t.step("healthy: an event accepted by A reaches the socket on B", async () => {
        await eventually(
          () => a.service.parts.relay.health().healthy && b.service.parts.relay.health().healthy,
          "connected",
        );
        await post("in_progress");
        await socket.collect((f) => f.stream === stream && f.seq === 1, 1);
      });

      await t.step("an admin disconnect on A closes 4500 a socket held by B", async () => {
        const other = await connectWelcomed(b.wsUrl, await b.socketToken(randomUser()));
        const id = String(other.welcome.data.connectionId);
        await eventually(
          async () => (await a.service.parts.registry.get(id)) !== null,
          "the record is visible",
        );
        assert.equal(await a.service.disconnect(id), true);
        assert.deepEqual(await other.socket.closed, { code: 4500, reason: "Disconnected by administrator" });
      });

      await t.step("Redis stops: both relays turn unhealthy with a detail and count errors", async () => {
        await redis.stop();
        await eventually(() => !b.service.parts.relay.health().healthy, "B notices");
        await post("review"); // A publishes into the void: the failure is counted, the webhook still succeeds
        await eventually(() => !a.service.parts.relay.health().healthy, "A notices");
        const health = a.service.parts.relay.health();
        assert.equal(health.name, "redis");
        assert.match(health.detail ?? "", /publisher/);
        assert.ok(counterTotal(metricsA.snapshot(), "realtime_relay_errors_total", { relay: "redis" }) > 0);
        assert.ok(counterTotal(metricsB.snapshot(), "realtime_relay_errors_total", { relay: "redis" }) > 0);
        assert.ok(lines.some((l) => JSON.parse(l).msg.startsWith("Relay failing")), "the outage is logged");
        assert.equal(socket.ws.readyState, WebSocket.OPEN);
        assert.deepEqual(seqsOf(socket.frames, stream), [1]);
      });

      await t.step("Redis returns: the relays reconnect by themselves", async () => {
        await redis.start();
        await eventually(
          () => a.service.parts.relay.health().healthy && b.service.parts.relay.health().healthy,
          "both relays are healthy again",
        );
        assert.ok(lines.some((l) => JSON.parse(l).msg === "Relay recovered"), "the recovery is logged");
      });

      await t.step("the next notification fills the gap; a resuming socket gets what it missed", async () => {
        await post("completed");
        await socket.collect((f) => f.stream === stream && f.seq === 3, 1);
        assertOnceInOrder(socket.frames, stream, 3, "socket kept open through the outage");
        const late = await connectWelcomed(b.wsUrl, await b.socketToken(user));
        late.socket.send({ type: "resume", data: { positions: { [stream]: 1, all: 0 } } });
        await late.socket.next("resumed");
        assert.deepEqual(seqsOf(late.socket.frames, stream), [2, 3]);
        await late.socket.close();
      });
    } finally {
      await socket.close();
      await a.close();
      await b.close();
      await redis.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
