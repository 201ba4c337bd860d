/**
 * The memory release after a burst (README "Running in production") on the real service as `deno task start`
 * runs it: two workers with `--expose-gc`, glibc's trim through FFI, and a real burst of sockets.
 */
import assert from "node:assert/strict";
import { BURST_SOCKETS, STILL_LOOKS } from "../lib/burst_watch.ts";
import { joinCrowd, leaveCrowd, openCrowd, tallyOutcomes } from "./helpers/crowd.ts";
import { eventually } from "./helpers/eventually.ts";
import { parsePrometheus, sampleValue } from "./helpers/prometheus.ts";
import { startServiceProcess } from "./helpers/process.ts";
import { randomUser } from "./helpers/server.ts";

const GIVEN_BACK = "Memory given back after a burst of sockets";

Deno.test("[memory] after a burst of sockets settles, each worker collects its heap and then the process trims", async () => {
  const dir = await Deno.makeTempDir({ prefix: "memory_release_" });
  const sockets = BURST_SOCKETS + 100;
  // At info the release is logged; so is each socket, which is what makes the burst.
  const service = await startServiceProcess({
    kvPath: `${dir}/realtime.kv`,
    parallel: true,
    env: { LOG_LEVEL: "info", RATE_LIMIT_PER_IP: "20000", MAX_CONNECTIONS: "20000" },
  });
  const released = () =>
    service.output().split("\n").filter((line) => line.includes(GIVEN_BACK)).map((line) => JSON.parse(line));
  const tokens = await Promise.all(Array.from({ length: sockets }, () => service.socketToken(randomUser())));
  const crowd = await openCrowd(sockets, (i) => joinCrowd(service.wsUrl, tokens[i]), 200);
  try {
    assert.deepEqual(tallyOutcomes(crowd), { welcome: sockets });
    const [line] = await eventually(
      () => released().length > 0 && released(),
      (STILL_LOOKS + 20) * 1000,
      "the release after the burst",
    );
    assert.equal(line.level, "info");
    assert.equal(line.openSockets, sockets);
    // Both workers collected: the V8 flag of `deno task start` let each do it, and each said how long it took.
    assert.equal(line.collectMs.length, 2);
    for (const ms of line.collectMs) {
      assert.ok(Number.isInteger(ms) && ms >= 0, `collectMs ${line.collectMs}`);
    }
    assert.equal(typeof line.trimmed, "boolean", "glibc's trim ran after the collections");
    assert.ok(Number.isInteger(line.trimMs));
    // The pauses cost no socket.
    assert.equal(crowd.filter((s) => s.ws.readyState === WebSocket.OPEN).length, sockets);
    assert.equal(released().length, 1, "one release a burst");
    // Operators see the pauses in /metrics: one a worker, summed over both (each reports at its next beat).
    const pauses = await eventually(
      async () => {
        const metrics = parsePrometheus(await (await fetch(`${service.url}/metrics`)).text());
        const count = sampleValue(metrics, "realtime_heap_collection_seconds_count");
        return count === 2 && metrics;
      },
      10_000,
      "both workers' pauses in realtime_heap_collection_seconds",
    );
    const pausedSeconds = sampleValue(pauses, "realtime_heap_collection_seconds_sum")!;
    assert.ok(
      Math.abs(pausedSeconds * 1000 - (line.collectMs[0] + line.collectMs[1])) < 2,
      `${pausedSeconds} s`,
    );
  } finally {
    await leaveCrowd(crowd);
    await service.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
