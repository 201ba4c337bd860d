/**
 * The real service as a subprocess, started the way production starts it (`deno task start`'s command:
 * scripts/serve.ts with its workers), on a free loopback port, with the test secrets of `server.ts`. For
 * multi-process and multi-worker tests: several of these may share one KV file and one relay.
 */
import type { Identity } from "../../lib/auth.ts";
import { createSocketTokens } from "../../lib/socket_tokens.ts";
import { V8_FLAGS } from "../../scripts/v8_flags.ts";
import { TEST_SESSION_SECRET, TEST_WEBHOOK_SECRET, TEST_WS_SECRET } from "./server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

export interface ServiceProcessOptions {
  /** Extra environment (`RELAY`, `REDIS_URL`, limits…); it wins over the defaults below. */
  env?: Record<string, string>;
  /** Several workers: 2 unless `env.WORKERS` says otherwise (one worker without it). */
  parallel?: boolean;
  /** `KV_PATH` for the service: a file shared with other processes, or a `http://` denokv URL. */
  kvPath: string;
  /** How long to wait for the service to answer HTTP. */
  startTimeoutMs?: number;
  /** Runs the service under `prlimit --nofile=<it>` (soft and hard descriptor limit). */
  nofileLimit?: number;
}

export interface ServiceProcess {
  url: string;
  wsUrl: string;
  port: number;
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

/** The command `deno task start` runs (deno.json), with V8 flags from their one source. */
export function startCommand(): string[] {
  return [Deno.execPath(), "run", "--allow-all", `--v8-flags=${V8_FLAGS}`, "scripts/serve.ts"];
}

/**
 * Starts the service as a subprocess in production mode and resolves once it answers HTTP. A port taken
 * between `freePort()` and the service's bind (by a test running alongside) is retried on another port.
 */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= 3) throw error;
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(options: ServiceProcessOptions): Promise<ServiceProcess> {
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
    WORKERS: options.parallel ? "2" : "1",
    ...options.env,
    HOST: "127.0.0.1",
    PORT: String(port),
  };
  const command = startCommand();
  if (options.nofileLimit) command.unshift("prlimit", `--nofile=${options.nofileLimit}`);
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
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
      if (/Port \d+ is already in use/.test(text)) throw new PortTakenError(text);
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
    output: () => text,
    socketToken: async (identity) => (await tokens.mint(identity)).token,
    stop,
    kill: () => stop("SIGKILL"),
  };
}
