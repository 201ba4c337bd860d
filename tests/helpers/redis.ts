/**
 * A real `redis-server` on a free loopback port, for relay tests. Locally a missing `redis-server` skips
 * those tests with a loud line; under `CI=true` it fails them.
 */
import { eventually } from "./eventually.ts";
import { freePort } from "./process.ts";
import { rawTcp } from "./raw_tcp.ts";

function detectRedis(): boolean {
  try {
    return new Deno.Command("redis-server", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const found = detectRedis();
const inCi = Deno.env.get("CI") === "true";
if (!found) {
  const line = "redis-server not found: Redis relay tests " + (inCi ? "FAIL (CI=true)" : "are SKIPPED");
  console.error(`\n!!!!!!!! ${line} !!!!!!!!\n`);
}

/** Whether Redis tests are ignored: only locally without redis-server (under CI they run and fail). */
export const ignoreRedisTests = !found && !inCi;

export interface TestRedis {
  url: string;
  port: number;
  /** Stops the server (as an outage would); `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** Starts redis-server without persistence on a free loopback port and waits until it accepts connections. */
export async function startRedis(): Promise<TestRedis> {
  if (!found) throw new Error("redis-server is not installed (apt-get install redis-server)");
  const port = freePort();
  let child: Deno.ChildProcess | undefined;

  async function start() {
    child = new Deno.Command("redis-server", {
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const accepting = () => rawTcp(port).then((tcp) => (tcp.close(), true), () => false);
    await eventually(accepting, 10_000, `redis-server accepting on port ${port}`);
  }

  async function stop() {
    if (!child) return;
    child.kill("SIGKILL");
    await child.status;
    child = undefined;
  }

  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}
