/**
 * `deno task dev` as a newcomer runs it: on loopback only (its sign-in hands out admin sessions), reachable
 * as 127.0.0.1, [::1] and localhost alike, and ended at once with one line when its port is taken.
 */
import assert from "node:assert/strict";
import { eventually } from "./helpers/eventually.ts";
import { hasIpv6Loopback, listeningAddresses } from "./helpers/listening.ts";
import { nodeSocket } from "./helpers/node_socket.ts";
import {
  type CapturedProcess,
  freePort,
  runBounded,
  spawnCapturing,
  taskCommand,
  waitForHttp,
} from "./helpers/process.ts";

/** This environment without anything that would change where or how dev listens. */
function devEnv(port: number, kvPath: string): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of ["HOST", "ALLOWED_ORIGINS", "REALTIME_ENV", "SESSION_JWT_SECRET", "SESSION_JWKS_URL"]) {
    delete env[name];
  }
  return { ...env, PORT: String(port), KV_PATH: kvPath, LOG_LEVEL: "warn" };
}

/** The pids of `pid`'s children (of every thread), from /proc. */
async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    const text = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/children`).catch(() => "");
    children.push(...text.split(/\s+/).filter(Boolean).map(Number));
  }
  return children;
}

/** Whether `pid` is gone or a zombie nobody reaped yet (either way, it runs no more). */
async function ended(pid: number): Promise<boolean> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => undefined);
  return stat === undefined || stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
}

/** Opens a socket with `origin`; resolves with its first frame's type, or the HTTP status that refused it. */
async function openWithOrigin(wsUrl: string, token: string, origin: string): Promise<string> {
  const socket = nodeSocket(wsUrl, ["realtime.v1", token], { origin, handshakeTimeout: 10_000 });
  try {
    const status = await socket.handshake;
    return status === 101 ? (await socket.first(() => true, 10_000)).type : `HTTP ${status}`;
  } finally {
    await socket.close();
  }
}

Deno.test("[dev] deno task dev listens on loopback only; sockets from 127.0.0.1, [::1] and localhost pages open", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "dev_task_" });
  const port = freePort();
  const ipv6 = hasIpv6Loopback();
  if (!ipv6) {
    console.warn("!!! No IPv6 loopback on this machine: the [::1] checks of the dev task are skipped");
  }
  let dev: CapturedProcess | undefined;
  try {
    dev = spawnCapturing(taskCommand("dev"), devEnv(port, `${dir}/realtime.kv`), { clearEnv: true });
    await waitForHttp(`http://127.0.0.1:${port}/health`, dev, 60_000);
    const base = `http://127.0.0.1:${port}`;

    await t.step("it listens on 127.0.0.1 and ::1, nothing else", async () => {
      assert.deepEqual(await listeningAddresses(port), ipv6 ? ["127.0.0.1", "::1"] : ["127.0.0.1"]);
    });

    await t.step(
      "a page at 127.0.0.1, [::1] or localhost may open a socket; another origin may not",
      async () => {
        const session = await fetch(`${base}/api/dev/session`, {
          method: "POST",
          body: JSON.stringify({ userId: "client-budi" }),
        });
        assert.equal(session.status, 200);
        const { token: sessionToken } = await session.json();
        const hosts = ["127.0.0.1", "localhost", ...(ipv6 ? ["[::1]"] : [])];
        for (const host of hosts) {
          // A fresh socket token each time: the per-user limit counts sockets, not tokens, so one would do.
          const minted = await fetch(`${base}/api/websocket/token`, {
            method: "POST",
            headers: { authorization: `Bearer ${sessionToken}` },
          });
          assert.equal(minted.status, 200);
          const { token } = await minted.json();
          const target = host === "localhost" ? "127.0.0.1" : host;
          const first = await openWithOrigin(`ws://${target}:${port}/ws`, token, `http://${host}:${port}`);
          assert.equal(first, "welcome", `Origin http://${host}:${port}`);
        }
        const minted = await fetch(`${base}/api/websocket/token`, {
          method: "POST",
          headers: { authorization: `Bearer ${sessionToken}` },
        });
        const { token } = await minted.json();
        assert.equal(
          await openWithOrigin(`ws://127.0.0.1:${port}/ws`, token, "http://evil.example"),
          "HTTP 403",
        );
      },
    );

    await t.step("SIGTERM ends the task and its file watcher, status 0", async () => {
      const watcher = await childrenOf(dev!.pid);
      assert.equal(watcher.length, 1, "the dev task runs one watched child");
      const status = await dev!.stop("SIGTERM", 10_000);
      assert.equal(status.code, 0, dev!.output());
      await eventually(() => ended(watcher[0]), 10_000, "the file watcher to end with the task");
    });
  } finally {
    await dev?.stop("SIGKILL");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("[dev] a taken port ends deno task dev at once: one line naming the port, status 1, no watcher", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dev_taken_" });
  // A plain listener on 127.0.0.1, as any other program holding the port would have.
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = taken.addr as Deno.NetAddr;
  try {
    const run = await runBounded(taskCommand("dev"), {
      env: devEnv(port, `${dir}/realtime.kv`),
      clearEnv: true,
      timeoutMs: 60_000,
    });
    assert.equal(run.timedOut, false, "deno task dev kept running on a taken port");
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `Port ${port} is already in use (set PORT to another port)\n`);
    assert.equal(run.stdout, "", "nothing else is printed, not even the banner");
  } finally {
    taken.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
