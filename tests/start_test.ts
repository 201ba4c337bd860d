/**
 * `deno task start` as an operator runs it: every line it writes is one JSON object; a port already taken,
 * by another program or by a running instance of this service (whose workers share their port with
 * SO_REUSEPORT), ends it at once with one line; SIGTERM closes every socket 1001 and exits 0.
 */
import assert from "node:assert/strict";
import { randomUser, TEST_SESSION_SECRET, TEST_WEBHOOK_SECRET, TEST_WS_SECRET } from "./helpers/server.ts";
import { connectWelcomed } from "./helpers/socket.ts";
import { announcement, postEvent } from "./helpers/webhook.ts";
import { runBounded, startServiceProcess, taskCommand } from "./helpers/process.ts";

const productionEnv = (port: number, kvPath: string) => ({
  REALTIME_ENV: "production",
  SESSION_JWT_SECRET: TEST_SESSION_SECRET,
  WS_TOKEN_SECRET: TEST_WS_SECRET,
  WEBHOOK_SECRETS: TEST_WEBHOOK_SECRET,
  ALLOWED_ORIGINS: "http://localhost:8000",
  KV_PATH: kvPath,
  PORT: String(port),
});

Deno.test("[start] two workers write one JSON object a line, and SIGTERM closes sockets 1001 and exits 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "start_logs_" });
  const service = await startServiceProcess({
    kvPath: `${dir}/realtime.kv`,
    parallel: true,
    env: { LOG_LEVEL: "info" },
  });
  try {
    const { socket } = await connectWelcomed(service.wsUrl, await service.socketToken(randomUser()));
    const posted = await postEvent(service.url, announcement());
    assert.equal(posted.status, 202);
    await posted.body?.cancel();
    await socket.next((f) => f.type === "system_announcement" && typeof f.seq === "number");
    const missing = await fetch(`${service.url}/no-such-page`);
    await missing.body?.cancel();

    const status = await service.stop("SIGTERM", 10_000);
    assert.equal(status.code, 0);
    assert.equal((await socket.closed).code, 1001);

    const lines = service.output().split("\n").filter((line) => line !== "");
    for (const line of lines) {
      let entry;
      assert.doesNotThrow(() => entry = JSON.parse(line), `not JSON: ${line}`);
      assert.equal(typeof entry, "object", line);
      assert.ok(entry!.time && entry!.level && entry!.msg, `not a log entry: ${line}`);
    }
    const messages = lines.map((line) => JSON.parse(line).msg);
    for (const expected of ["Service started", "Request", "Shutting down"]) {
      assert.ok(messages.includes(expected), `no "${expected}" line in:\n${service.output()}`);
    }
  } finally {
    await service.kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("[start] a taken port ends deno task start at once: one line naming the port, status 1", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "start_taken_" });
  const expectRefused = async (port: number, host?: string) => {
    const run = await runBounded(taskCommand("start"), {
      env: { ...productionEnv(port, `${dir}/second.kv`), ...(host ? { HOST: host } : {}) },
      timeoutMs: 60_000,
    });
    assert.equal(run.timedOut, false, "deno task start kept running on a taken port");
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `Port ${port} is already in use (set PORT to another port)\n`);
    assert.equal(run.stdout, "");
  };

  await t.step("by another program (a plain listener on 127.0.0.1; start listens on 0.0.0.0)", async () => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      await expectRefused((taken.addr as Deno.NetAddr).port, "0.0.0.0");
    } finally {
      taken.close();
    }
  });

  await t.step("by a running instance of the service, whose workers listen with SO_REUSEPORT", async () => {
    const first = await startServiceProcess({ kvPath: `${dir}/first.kv`, parallel: true });
    try {
      await expectRefused(first.port, "127.0.0.1");
      // The first instance was not disturbed.
      const health = await fetch(`${first.url}/health`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
    } finally {
      await first.stop();
    }
  });
  await Deno.remove(dir, { recursive: true }).catch(() => {});
});
