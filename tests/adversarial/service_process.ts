/**
 * The service as production runs it, in a child process (`deno serve main.ts`), so a test can SIGKILL it
 * mid-stream and start it again on the same KV file.
 */
import { TEST_SESSION_SECRET, TEST_WEBHOOK_SECRET, TEST_WS_SECRET } from "../helpers/server.ts";
import { sleep } from "./helpers.ts";

const ROOT = new URL("../../", import.meta.url);

export interface ServiceProcess {
  url: string;
  wsUrl: string;
  child: Deno.ChildProcess;
  /** SIGKILL: no shutdown handler runs, exactly like a crash. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts `deno serve main.ts` in production mode on a free port and resolves once it answers. */
export async function startServiceProcess(kvPath: string): Promise<ServiceProcess> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["serve", "--allow-all", "--host", "127.0.0.1", "--port", String(port), "main.ts"],
    cwd: ROOT,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      REALTIME_ENV: "production",
      SESSION_JWT_SECRET: TEST_SESSION_SECRET,
      WS_TOKEN_SECRET: TEST_WS_SECRET,
      WEBHOOK_SECRETS: TEST_WEBHOOK_SECRET,
      ALLOWED_ORIGINS: "http://localhost:8000",
      KV_PATH: kvPath,
      RELAY: "none",
      LOG_LEVEL: "error",
    },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`${url}/api/notifications`).catch(() => null);
    if (res) {
      await res.body?.cancel();
      break;
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error("The service process did not start within 30 s");
    }
    await sleep(100);
  }
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    child,
    async kill() {
      child.kill("SIGKILL");
      await child.status;
    },
    /** SIGTERM, and SIGKILL if the graceful shutdown has not ended the process within 5 s. */
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await child.status;
      clearTimeout(timer);
    },
  };
}
