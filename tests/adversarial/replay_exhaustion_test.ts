/**
 * What one client account's replays can make the service hold (SECURITY.md, "Exhaustion by one client
 * account"): resume amplification, and live notifications held behind a stalled replay. Each attack runs
 * against the service as a subprocess started as production starts it, with the default limits, measured as
 * an operator would: the process's resident memory and the service's log.
 */
import assert from "node:assert/strict";
import WebSocketNode from "ws";
import { createLogger } from "../../lib/log.ts";
import { counterTotal } from "../../lib/metrics.ts";
import { type NotificationDraft } from "../../lib/notifications.ts";
import type { Outbound } from "../../lib/outbound.ts";
import { MiB, processTreeRss, sampleRss } from "../helpers/memory.ts";
import { startServiceProcess } from "../helpers/process.ts";
import { randomUser, startTestServer } from "../helpers/server.ts";
import { V8_FLAGS } from "../../scripts/v8_flags.ts";
import { eventually } from "../helpers/eventually.ts";
import { nodeSocket } from "../helpers/node_socket.ts";
import { connect, errorLines, LightSocket, neighbourPinger, seedAnnouncements } from "./one_account.ts";

Deno.test("[adversarial] resume amplification: 300 resumes of 3,000 announcements leave memory flat", async (t) => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/kv.sqlite`;
  await seedAnnouncements(kvPath, 3000);
  // With the V8 flags `deno task start` gives every worker. Without them V8 lets the old generation grow
  // further before collecting: about 110 MiB of garbage at the peak, all of it collectable (under
  // --max-old-space-size=40 the same attack runs at +17 MiB), so the figure would measure V8's heap sizing.
  const service = await startServiceProcess({ kvPath, env: { DENO_V8_FLAGS: V8_FLAGS } });
  const sockets: LightSocket[] = [];
  let pings: Awaited<ReturnType<typeof neighbourPinger>> | undefined;
  try {
    const neighbour = await connect(service, randomUser());
    sockets.push(neighbour);
    // Warm the paths a replay takes, so that the baseline is the service at work rather than just started.
    neighbour.send({ type: "resume", id: "warm", data: { positions: { all: 2900 } } });
    assert.equal((await neighbour.reply("warm")).type, "resumed");
    const baseline = processTreeRss(service.pid);
    const attacker = randomUser();
    const attackers: LightSocket[] = [];
    for (let i = 0; i < 3; i++) attackers.push(await connect(service, attacker));
    sockets.push(...attackers);
    const rss = sampleRss(service.pid);
    pings = await neighbourPinger(service, randomUser());

    await t.step("three sockets of one client each send 100 resume {all: 0} frames at once", async () => {
      for (const socket of attackers) {
        for (let i = 0; i < 100; i++) {
          socket.send({ type: "resume", id: `r-${i}`, data: { positions: { all: 0 } } });
        }
      }
      // Meanwhile a fresh socket of another client resumes from the start too.
      const fresh = await connect(service, randomUser());
      sockets.push(fresh);
      fresh.send({ type: "resume", id: "fresh", data: { positions: { all: 0 } } });
      const resumed = await fresh.reply("fresh", 45_000);
      assert.equal(resumed.type, "resumed");
      assert.equal(resumed.data.replayed, 3000);
      assert.deepEqual(fresh.seqs, Array.from({ length: 3000 }, (_, i) => i + 1), "not all stored, in order");

      // Every attacking frame is answered: a replay of its own (`resumed`) or `busy` while one runs.
      for (const socket of attackers) {
        const answers = [];
        for (let i = 0; i < 100; i++) answers.push(await socket.reply(`r-${i}`, 45_000));
        const busy = answers.filter((f) => f.type === "error" && f.data.code === "busy").length;
        const replays = answers.filter((f) => f.type === "resumed").length;
        assert.equal(busy + replays, 100, JSON.stringify(answers.find((f) => f.type === "error")));
        assert.ok(replays >= 1);
        // Each replay sent the whole stream in order: 3,000 frames a replay, nothing doubled within one.
        assert.equal(socket.seqs.length, replays * 3000);
        assert.deepEqual(socket.seqs.slice(0, 3000), Array.from({ length: 3000 }, (_, i) => i + 1));
      }
    });

    await t.step(
      "the server's memory grew by less than 100 MiB; the neighbour was answered within 1 s",
      async () => {
        const { worstMs: worst, answered } = await pings!.stop();
        const peak = rss.stop();
        console.log(
          `RSS baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB ` +
            `(+${((peak - baseline) / MiB).toFixed(1)} MiB); slowest of ${answered} pings ${
              worst.toFixed(0)
            } ms`,
        );
        assert.ok(peak - baseline < 100 * MiB, `RSS grew by ${((peak - baseline) / MiB).toFixed(1)} MiB`);
        assert.ok(answered >= 3, `only ${answered} pings answered`);
        assert.ok(worst < 1000, `a ping took ${worst.toFixed(0)} ms`);
        for (const socket of attackers) assert.equal(socket.ws.readyState, WebSocketNode.OPEN);
        assert.deepEqual(errorLines(service), []);
      },
    );
  } finally {
    await pings?.stop().catch(() => {});
    await Promise.all(sockets.map((s) => s.close()));
    await service.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[adversarial] live notifications held behind a stalled replay are bounded: past BUFFER_SIZE, 4008", async () => {
  const logged: string[] = [];
  const server = await startTestServer({
    env: { BUFFER_SIZE: "50" },
    log: createLogger("info", {}, (line) => logged.push(line)),
  });
  const user = randomUser();
  const stream = `user:${user.userId}` as const;
  const draft = (n: number): NotificationDraft => ({
    stream,
    type: "system_announcement",
    title: `Stored ${n}`,
    message: "y".repeat(2000),
    data: { n },
  });
  try {
    // Stored, not delivered: more than the kernel's and Deno's buffers take, so that the replay stalls.
    for (let i = 0; i < 3000; i += 50) {
      await server.service.parts.store.append(Array.from({ length: 50 }, (_, j) => draft(i + j)));
    }
    const slow = nodeSocket(server.wsUrl, ["realtime.v1", await server.socketToken(user)]);
    const connectionId = String((await slow.first((f) => f.type === "welcome")).data.connectionId);
    slow.ws.pause();
    slow.ws.send(JSON.stringify({ type: "resume", data: { positions: { [stream]: 0, all: 0 } } }));
    const session = server.service.parts.hub.get(connectionId) as unknown as { outbound: Outbound };
    await eventually(() => session.outbound.queued() > 0, 20_000, "the replay waits for the client");
    // Live notifications now wait behind the replay; BUFFER_SIZE + 1 of them make it a slow consumer.
    for (let n = 0; n < 60 && server.service.parts.hub.get(connectionId); n++) {
      await server.service.publish([draft(3000 + n)]);
    }
    assert.equal(
      server.service.parts.hub.get(connectionId),
      undefined,
      "the stalled socket is still in the hub",
    );
    assert.equal(counterTotal(server.service.metrics.snapshot(), "realtime_slow_consumers_total"), 1);
    assert.ok(
      logged.some((line) => line.includes(connectionId) && line.includes('"code":4008')),
      "no 4008 close logged for the socket",
    );
    slow.ws.resume();
    await slow.closed;
  } finally {
    await server.close();
  }
});
