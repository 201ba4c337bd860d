import assert from "node:assert/strict";
import { storeIdKey } from "../lib/keys.ts";
import { eventually } from "./helpers/eventually.ts";
import { type ServiceProcess, startServiceProcess } from "./helpers/process.ts";
import { ignoreRedisTests, startRedis } from "./helpers/redis.ts";
import { randomUser } from "./helpers/server.ts";
import { connectWelcomed } from "./helpers/socket.ts";
import { postEvent, projectChanged } from "./helpers/webhook.ts";

interface Check {
  name: string;
  status: string;
  detail?: string;
}

async function health(p: ServiceProcess): Promise<{ status: number; relay: Check }> {
  const res = await fetch(`${p.url}/health`);
  const body = await res.json();
  return { status: res.status, relay: body.checks.find((c: Check) => c.name === "relay") };
}

/** The process's JSON log lines (`deno serve` may prefix them) with this message prefix. */
function logLines(p: ServiceProcess, msg: string): Record<string, unknown>[] {
  return p.output().split("\n")
    .filter((line) => line.includes("{"))
    .map((line) => {
      try {
        return JSON.parse(line.slice(line.indexOf("{")));
      } catch {
        return {};
      }
    })
    .filter((entry) => typeof entry.msg === "string" && entry.msg.startsWith(msg));
}

/** The first log line with this message prefix, once the process has written it. */
function firstLogLine(p: ServiceProcess, msg: string): Promise<Record<string, unknown>> {
  return eventually(() => logLines(p, msg)[0], 10_000, `"${msg}" in the log`);
}

async function storeIdOf(kvPath: string): Promise<string> {
  const kv = await Deno.openKv(kvPath);
  try {
    return String((await kv.get(storeIdKey())).value);
  } finally {
    kv.close();
  }
}

async function post(p: ServiceProcess, userId: string) {
  const res = await postEvent(p.url, projectChanged(userId));
  assert.equal(res.status, 202);
  await res.body?.cancel();
}

const FOREIGN = "Relay peer on another store";

/** Starts one service process per KV path, all on `env`'s relay, and waits until every relay is connected. */
async function startAll(
  processes: ServiceProcess[],
  kvPaths: string[],
  env: Record<string, string>,
): Promise<ServiceProcess[]> {
  const started = await Promise.all(
    kvPaths.map((kvPath) => startServiceProcess({ kvPath, env }).then((p) => (processes.push(p), p))),
  );
  await eventually(
    async () => (await Promise.all(started.map(health))).every((h) => h.relay.status === "pass"),
    15_000,
    "every relay connected",
  );
  return started;
}

Deno.test({
  name:
    "[relay store] two processes on one Redis but their own KV files: an error naming both stores, /health fails",
  ignore: ignoreRedisTests,
  async fn(t) {
    const redis = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "relay_store_" });
    const env = { RELAY: "redis", REDIS_URL: redis.url };
    const processes: ServiceProcess[] = [];
    try {
      const [a, b] = await startAll(processes, [`${dir}/a.kv`, `${dir}/b.kv`], env);
      const [storeA, storeB] = await Promise.all([storeIdOf(`${dir}/a.kv`), storeIdOf(`${dir}/b.kv`)]);
      assert.notEqual(storeA, storeB);
      const user = randomUser();
      const onB = await connectWelcomed(b.wsUrl, await b.socketToken(user));

      await t.step(
        "events accepted by A: B logs one error naming both stores, and ignores them",
        async () => {
          await post(a, user.userId);
          await post(a, user.userId);
          const line = await firstLogLine(b, FOREIGN);
          assert.equal(line.level, "error");
          assert.equal(line.storeId, storeB);
          assert.equal(line.peerStoreId, storeA);
          // A's own notifications (user stream seq 1 and 2 in A's store) never reach B's socket: a ping
          // answered after them shows nothing else arrived.
          onB.socket.send({ type: "ping", id: "after" });
          await onB.socket.next("pong");
          assert.deepEqual(onB.socket.frames.map((f) => f.type), ["welcome", "system_announcement", "pong"]);
          assert.equal(logLines(b, FOREIGN).length, 1, "once per peer, not per event");
        },
      );

      await t.step("/health on B fails its relay check with the reason (503)", async () => {
        const { status, relay } = await health(b);
        assert.equal(status, 503);
        assert.equal(relay.status, "fail");
        assert.match(relay.detail ?? "", new RegExp(`another store.*${storeA}.*${storeB}`));
      });

      await t.step("and the other way round: an event accepted by B, A reports it", async () => {
        await post(b, user.userId);
        const line = await firstLogLine(a, FOREIGN);
        assert.equal(line.storeId, storeA);
        assert.equal(line.peerStoreId, storeB);
        assert.equal((await health(a)).relay.status, "fail");
      });
      await onB.socket.close();
    } catch (error) {
      for (const p of processes) console.error(`process on ${p.url}:\n${p.output()}`);
      throw error;
    } finally {
      for (const p of processes) await p.stop();
      await redis.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "[relay store] two processes sharing one KV file and one Redis: one store id, no error, relay check passes",
  ignore: ignoreRedisTests,
  async fn() {
    const redis = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "relay_store_shared_" });
    const kvPath = `${dir}/realtime.kv`;
    const processes: ServiceProcess[] = [];
    try {
      const [a, b] = await startAll(processes, [kvPath, kvPath], { RELAY: "redis", REDIS_URL: redis.url });
      assert.match(await storeIdOf(kvPath), /^[0-9a-f-]{36}$/);
      const user = randomUser();
      const onB = await connectWelcomed(b.wsUrl, await b.socketToken(user));
      await post(a, user.userId);
      const frame = await onB.socket.next("project_update", 10_000);
      assert.equal(frame.seq, 1);
      await onB.socket.close();
      for (const p of [a, b]) {
        assert.deepEqual(logLines(p, FOREIGN), []);
        // Only the relay check: on a loaded machine the latency check may fail on its own.
        assert.equal((await health(p)).relay.status, "pass");
      }
    } finally {
      for (const p of processes) await p.stop();
      await redis.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
