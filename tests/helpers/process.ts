/**
 * The real service as a subprocess, started the way production starts it (`deno task start`'s command:
 * scripts/serve.ts with its workers), on a free loopback port, with the test secrets of `server.ts`. For
 * multi-process and multi-worker tests: several of these may share one KV file and one relay.
 */
import type { Identity } from "../../lib/auth.ts";
import { createSocketTokens } from "../../lib/socket_tokens.ts";
import { eventually } from "./eventually.ts";
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

/** The command a `deno task` runs, read from deno.json (`dev`, `start`), with this Deno as `deno`. */
export function taskCommand(name: string): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks as Record<string, string>;
  const [deno, ...args] = tasks[name].split(/\s+/);
  if (deno !== "deno") throw new Error(`Task ${name} does not start with deno: ${tasks[name]}`);
  return [Deno.execPath(), ...args];
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
    WORKERS: options.parallel ? "2" : "1",
    ...options.env,
    HOST: "127.0.0.1",
    PORT: String(port),
  };
  const command = taskCommand("start");
  if (options.nofileLimit) command.unshift("prlimit", `--nofile=${options.nofileLimit}`);
  const proc = spawnCapturing(command, env);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/health`, proc, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    if (/Port \d+ is already in use/.test(proc.output())) throw new PortTakenError(proc.output());
    throw error;
  }
  const { output, stop } = proc;
  const tokens = createSocketTokens(TEST_WS_SECRET, 300);
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    port,
    pid: proc.pid,
    output,
    socketToken: async (identity) => (await tokens.mint(identity)).token,
    stop,
    kill: () => stop("SIGKILL"),
  };
}

/** A subprocess whose stdout and stderr are read into one text as they come. */
export interface CapturedProcess {
  pid: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** The exit status once it has exited. */
  exited(): Deno.CommandStatus | undefined;
  /** Sends `signal` (SIGTERM by default) and waits for the exit, killing it after `graceMs`. */
  stop(signal?: Deno.Signal, graceMs?: number): Promise<Deno.CommandStatus>;
}

/** Spawns `command` in the repository root with `env` added to this environment, output captured. */
export function spawnCapturing(
  command: string[],
  env: Record<string, string>,
  options: { clearEnv?: boolean } = {},
): CapturedProcess {
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    clearEnv: options.clearEnv,
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

  return { pid: child.pid, output: () => text, exited: () => exited, stop };
}

/** Polls `url` until it answers; on the process's exit or after `timeoutMs` it kills it and throws. */
export async function waitForHttp(url: string, proc: CapturedProcess, timeoutMs: number): Promise<void> {
  const answered = async () => {
    if (proc.exited()) {
      const { code } = await proc.stop();
      throw new Error(`Process exited with ${code} before answering ${url}:\n${proc.output()}`);
    }
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) }).catch(() => null);
    await res?.body?.cancel();
    return res !== null;
  };
  try {
    await eventually(answered, timeoutMs, () => `an answer from ${url}:\n${proc.output()}`);
  } catch (error) {
    await proc.stop("SIGKILL");
    throw error;
  }
}

export interface BoundedRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Still running at the deadline (then killed). */
  timedOut: boolean;
}

/** Runs a command to its end in the repository root, killing it if it runs past `timeoutMs`. */
export async function runBounded(
  command: string[],
  options: { env?: Record<string, string>; clearEnv?: boolean; timeoutMs: number },
): Promise<BoundedRun> {
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    cwd: ROOT,
    env: { NO_COLOR: "1", ...options.env },
    clearEnv: options.clearEnv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs);
  const output = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    timedOut,
  };
}
