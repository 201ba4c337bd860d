import assert from "node:assert/strict";
import type { ConnectionRecord } from "../lib/connections.ts";
import type { IsolateRecord } from "../lib/isolates.ts";
import { connectionKey, isolatesPrefix } from "../lib/keys.ts";
import { openKv, withKvRetry } from "../lib/kv.ts";
import {
  assertFanOutOnceInOrder,
  assertUserLimitAcross,
  type OpenedSocket,
  openSpread,
} from "./helpers/fanout.ts";
import { eventually } from "./helpers/eventually.ts";
import { startServiceProcess } from "./helpers/process.ts";
import { randomUser } from "./helpers/server.ts";

/** How long the workers, writing their records on their own schedule, may take to show in KV. */
const WORKERS_WRITE_MS = 20_000;

Deno.test("[parallel] deno task start with 2 workers (RELAY=broadcast): sockets on both workers get each notification once, in order", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "relay_parallel_" });
  const kvPath = `${dir}/realtime.kv`;
  const service = await startServiceProcess({
    kvPath,
    parallel: true,
    env: { RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_USER: "3" },
  });
  // The test reads the workers' records from the same KV file, as any isolate would.
  const kv = await openKv(kvPath);
  const sockets: OpenedSocket[] = [];
  try {
    await t.step("both workers are up and beating", async () => {
      await eventually(
        () =>
          withKvRetry(async () => {
            const live = [];
            for await (const e of kv.list<IsolateRecord>({ prefix: isolatesPrefix() })) live.push(e.value);
            return live.filter((r) => Date.now() - r.updatedAt < 5000).length >= 2;
          }),
        WORKERS_WRITE_MS,
        "two live isolates",
      );
    });

    await t.step(
      "sockets land on different workers (their records name the isolate holding them)",
      async () => {
        const users = Array.from({ length: 10 }, () => randomUser());
        sockets.push(...await openSpread([service], users, 2));
        const isolates = await eventually(
          () =>
            withKvRetry(async () => {
              const records = await Promise.all(
                sockets.map((s) => kv.get<ConnectionRecord>(connectionKey(s.connectionId))),
              );
              return records.every((r) => r.value) && new Set(records.map((r) => r.value!.isolateId));
            }),
          WORKERS_WRITE_MS,
          "every socket's record",
        );
        assert.equal(isolates.size, 2, "all sockets sat on one worker");
      },
    );

    await t.step(
      "an announcement and 200 per-user webhook events arrive exactly once each, in order",
      () => assertFanOutOnceInOrder([service], sockets, 200),
    );

    await t.step(
      "RATE_LIMIT_PER_USER holds whichever worker a socket lands on",
      () => assertUserLimitAcross([service]),
    );
  } catch (error) {
    console.error(`service output:\n${service.output()}`);
    throw error;
  } finally {
    for (const { socket } of sockets) await socket.close();
    kv.close();
    await service.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
