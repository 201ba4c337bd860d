/**
 * Running out of file descriptors never ends the service (README, "Descriptors" under Operations): under
 * `prlimit --nofile=1024`, 1,100 idle TCP connections that send nothing take every descriptor; the workers'
 * listeners die with EMFILE while the sockets already open keep working; once the connections go, the
 * listeners are bound again and the service accepts as before.
 */
import assert from "node:assert/strict";
import { readDescriptorLimit } from "../../lib/fd_limit.ts";
import { eventually } from "../helpers/eventually.ts";
import { startServiceProcess } from "../helpers/process.ts";
import { type RawTcp, rawTcp } from "../helpers/raw_tcp.ts";
import { randomUser } from "../helpers/server.ts";
import { connectWelcomed } from "../helpers/socket.ts";
import { announcement, postEvent } from "../helpers/webhook.ts";

const LIMIT = 1024;
const IDLE_CONNECTIONS = 1100;

interface Flood {
  conns: RawTcp[];
  refused: number;
  reset: number;
  unanswered: number;
}

/**
 * Opens `count` TCP connections that send nothing, 50 at a time. Connections may be refused (no listener
 * while it is down) or reset (queued on a listener that died); a reset that lands between the handshake and
 * Deno's own calls on the new connection rejects as NotConnected (ENOTCONN from getpeername) or BrokenPipe
 * (EPIPE, seen once in a full parallel suite), and is a reset too. A connect that hangs (backlog full) is given
 * up after 5 s and closed should it complete later.
 */
async function flood(port: number, count: number): Promise<Flood> {
  const result: Flood = { conns: [], refused: 0, reset: 0, unanswered: 0 };
  const late: Promise<void>[] = [];
  for (let opened = 0; opened < count; opened += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - opened) }, async () => {
      const connecting = rawTcp(port);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        connecting.then((conn) => ({ conn }), (error) => ({ error })),
        new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), 5000)),
      ]);
      clearTimeout(timer);
      if (outcome === "late") {
        result.unanswered++;
        late.push(connecting.then((tcp) => tcp.close(), () => {}));
      } else if ("conn" in outcome) result.conns.push(outcome.conn);
      else if (outcome.error instanceof Deno.errors.ConnectionRefused) result.refused++;
      else if (
        outcome.error instanceof Deno.errors.ConnectionReset ||
        outcome.error instanceof Deno.errors.NotConnected ||
        outcome.error instanceof Deno.errors.BrokenPipe
      ) result.reset++;
      else throw outcome.error;
    }));
  }
  // Whatever was still connecting has settled by the time the caller closes the rest.
  await Promise.all(late);
  return result;
}

Deno.test("[descriptors] under prlimit --nofile=1024, 1,100 idle connections come and go; the service lives on", async (t) => {
  const own = readDescriptorLimit();
  assert.ok(
    own && own.soft >= IDLE_CONNECTIONS + 300,
    `This test opens ${IDLE_CONNECTIONS} connections itself; its own descriptor limit is ${own?.soft}`,
  );
  const dir = await Deno.makeTempDir({ prefix: "descriptors_" });
  const service = await startServiceProcess({
    kvPath: `${dir}/realtime.kv`,
    parallel: true,
    nofileLimit: LIMIT,
    env: { LOG_LEVEL: "info" },
  });
  let idle: Flood | undefined;
  try {
    await t.step("at start it warns, naming the limit and what MAX_CONNECTIONS × workers needs", () => {
      const warning = service.output().split("\n").find((line) => line.includes("Descriptor limit"));
      assert.ok(warning, service.output());
      const entry = JSON.parse(warning);
      assert.equal(entry.level, "warn");
      assert.equal(entry.limit, LIMIT);
      assert.ok(entry.needed > 2000);
      assert.match(
        entry.msg,
        new RegExp(`Descriptor limit ${LIMIT} .* need about ${entry.needed} descriptors`),
      );
    });

    const held = await connectWelcomed(service.wsUrl, await service.socketToken(randomUser()));

    await t.step(`${IDLE_CONNECTIONS} idle connections exhaust the descriptors (EMFILE)`, async () => {
      idle = await flood(service.port, IDLE_CONNECTIONS);
      assert.ok(idle.conns.length > 0);
      await eventually(
        () => service.output().includes("Too many open files (os error 24)"),
        10_000,
        "a listener failing with EMFILE",
      );
    });

    await t.step("the socket held meanwhile still answers", async () => {
      held.socket.send({ type: "ping", id: "while-exhausted" });
      const pong = await held.socket.next("pong", 10_000);
      assert.equal(pong.data.replyTo, "while-exhausted");
    });

    await t.step("once they close, /health answers again", async () => {
      for (const conn of idle!.conns) conn.close();
      idle = undefined;
      // A fresh connection for every try: a pooled one, accepted before the flood, would be answered by a
      // listener long dead and prove nothing about accepting.
      const fresh = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
      const status = await eventually(
        async () => {
          const init: RequestInit & { client: Deno.HttpClient } = {
            client: fresh,
            signal: AbortSignal.timeout(2000),
          };
          const res = await fetch(`${service.url}/health`, init).catch(() => null);
          await res?.body?.cancel();
          return res?.status === 200 ? res.status : undefined;
        },
        30_000,
        "/health to answer",
      ).finally(() => fresh.close());
      assert.equal(status, 200);
      assert.match(service.output(), /"msg":"Listener accepting again"/);
    });

    await t.step(
      "a new socket opens, and a signed webhook reaches it and the socket held throughout",
      async () => {
        const fresh = await connectWelcomed(service.wsUrl, await service.socketToken(randomUser()));
        const posted = await postEvent(service.url, announcement("After the storm"));
        assert.equal(posted.status, 202);
        await posted.body?.cancel();
        for (const { socket } of [held, fresh]) {
          const frame = await socket.next((f) =>
            f.type === "system_announcement" && typeof f.seq === "number"
          );
          assert.equal(frame.data.title, "After the storm");
        }
        await fresh.socket.close();
      },
    );

    await held.socket.close();
    const status = await service.stop("SIGTERM", 10_000);
    assert.equal(status.code, 0, "the service was still running and stopped cleanly");
  } finally {
    for (const conn of idle?.conns ?? []) conn.close();
    await service.kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
