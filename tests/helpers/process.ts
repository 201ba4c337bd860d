/**
 * The real service as a subprocess, started the way production starts it (`deno serve`, optionally
 * `--parallel`), on a free loopback port, with the test secrets of `server.ts`. For multi-process and
 * multi-worker tests: several of these may share one KV file and one relay.
 */
import type { Identity } from "../../lib/auth.ts";
import { createSocketTokens } from "../../lib/socket_tokens.ts";
import { TEST_SESSION_SECRET, TEST_WEBHOOK_SECRET, TEST_WS_SECRET } from "./server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

export interface ServiceProcessOptions {
  /** Extra environment (`RELAY`, `REDIS_URL`, limits…); it wins over the defaults below. */
  env?: Record<string, string>;
  /** `deno serve --parallel`, with `DENO_JOBS` workers (2 unless `env.DENO_JOBS` says otherwise). */
  parallel?: boolean;
  /** `KV_PATH` for the service: a file shared with other processes, or a `http://` denokv URL. */
  kvPath: string;
  /** How long to wait for the service to answer HTTP. */
  startTimeoutMs?: number;
}

export interface ServiceProcess {
  url: string;
  wsUrl: string;
  port: number;
  /** The process id (for reading its memory from /proc). */
  pid: number;
  /** Everything the process wrote to stdout and stderr so far (JSON log lines, among others). */
  output(): string;
  /** A socket token this service accepts. */
  socketToken(identity: Identity): Promise<string>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit, killing it after `graceMs`. */
  stop(signal?: Deno.Signal, graceMs?: number): Promise<Deno.CommandStatus>;
  /** Kills the process at once (a crash) and waits for it to be gone. */
  kill(): Promise<Deno.CommandStatus>;
}

/** A port nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts the service as a subprocess in production mode and resolves once it answers HTTP. */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  const port = freePort();
  const env: Record<string, string> = {
    REALTIME_ENV: "production",
    SESSION_JWT_SECRET: TEST_SESSION_SECRET,
    WS_TOKEN_SECRET: TEST_WS_SECRET,
    WEBHOOK_SECRETS: TEST_WEBHOOK_SECRET,
    ALLOWED_ORIGINS: "http://localhost:8000",
    LOG_LEVEL: "warn",
    KV_PATH: options.kvPath,
    NO_COLOR: "1",
    ...(options.parallel ? { DENO_JOBS: "2" } : {}),
    ...options.env,
  };
  const args = ["serve", "--allow-all", "--host", "127.0.0.1", "--port", String(port)];
  if (options.parallel) args.push("--parallel");
  args.push("main.ts");
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let text = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  // Pipes are read to the end, or a chatty child would block on a full pipe.
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited: Deno.CommandStatus | undefined;
  const status = child.status.then(async (s) => {
    exited = s;
    await drained;
    return s;
  });

  async function stop(signal: Deno.Signal = "SIGTERM", graceMs = 5000): Promise<Deno.CommandStatus> {
    if (!exited) {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), graceMs));
    const result = await Promise.race([status, late]);
    clearTimeout(timer);
    if (result !== "late") return result;
    child.kill("SIGKILL");
    return await status;
  }

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) {
      await status;
      throw new Error(`Service exited with ${exited.code} before answering:\n${text}`);
    }
    try {
      const res = await fetch(`${url}/health`);
      await res.body?.cancel();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop("SIGKILL");
        throw new Error(`Service did not answer on ${url} in time:\n${text}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const tokens = createSocketTokens(TEST_WS_SECRET, 300);
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    port,
    pid: child.pid,
    output: () => text,
    socketToken: async (identity) => (await tokens.mint(identity)).token,
    stop,
    kill: () => stop("SIGKILL"),
  };
}
