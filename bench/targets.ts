/**
 * The servers the bench compares: the service, started as `deno task start` starts it, and the three peers.
 * Each runs in its own process tree, with its output in a log file, and is stopped with SIGTERM.
 */
import { V8_FLAGS } from "../scripts/v8_flags.ts";

export type TargetName = "service" | "bare_deno" | "node_ws" | "socketio";
export const TARGETS: readonly TargetName[] = ["service", "bare_deno", "node_ws", "socketio"];

export interface Secrets {
  session: string;
  socket: string;
  webhook: string;
}

export interface TargetSpec {
  command: string[];
  env: Record<string, string>;
  /** Served by several workers of one process, so the relay workload crosses workers. */
  parallel: boolean;
}

/**
 * How to start one target on `port`; `kvPath` is the service's temporary store. With `inspectPort` the target
 * runs on one worker with the V8 inspector open there, for bench/profile.ts.
 */
export function targetSpec(
  name: TargetName,
  port: number,
  secrets: Secrets,
  kvPath: string,
  inspectPort?: number,
): TargetSpec {
  const deno = Deno.execPath();
  const inspect = inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [];
  const denoServe = (...args: string[]) =>
    inspectPort
      ? [deno, "serve", ...args, ...inspect, "--port", String(port)]
      : [deno, "serve", ...args, "--parallel", "--port", String(port)];
  switch (name) {
    case "service":
      return {
        // What `deno task start` runs: scripts/serve.ts, one worker per core serving on the port with
        // SO_REUSEPORT, V8 flags on its command line (they reach the workers' heaps only from there).
        command: inspectPort
          ? [...denoServe("--allow-all"), "main.ts"]
          : [deno, "run", "--allow-all", `--v8-flags=${V8_FLAGS}`, "scripts/serve.ts"],
        parallel: !inspectPort,
        env: {
          PORT: String(port),
          REALTIME_ENV: "production",
          SESSION_JWT_SECRET: secrets.session,
          WS_TOKEN_SECRET: secrets.socket,
          WEBHOOK_SECRETS: secrets.webhook,
          ALLOWED_ORIGINS: "http://localhost:8000",
          RELAY: "broadcast",
          KV_PATH: kvPath,
          // Limits raised so that one load generator on one address may open every socket.
          MAX_CONNECTIONS: "20000",
          RATE_LIMIT_PER_IP: "0",
          RATE_LIMIT_PER_USER: "0",
          MESSAGE_RATE_PER_MINUTE: "1000000",
          // A line per socket at "info" would measure the log pipe, not the service.
          LOG_LEVEL: "warn",
        },
      };
    case "bare_deno":
      return {
        command: [
          ...denoServe("--allow-env", "--allow-net", `--v8-flags=${V8_FLAGS}`),
          "bench/peers/bare_deno.ts",
        ],
        parallel: !inspectPort,
        env: { WS_TOKEN_SECRET: secrets.socket },
      };
    case "node_ws":
    case "socketio":
      return {
        command: ["node", ...inspect, `bench/peers/${name}.mjs`],
        parallel: false,
        env: { PORT: String(port), WS_TOKEN_SECRET: secrets.socket },
      };
  }
}

export interface RunningTarget {
  pid: number;
  stop(): Promise<void>;
}

/** Starts a target with 20,000 file descriptors allowed, and waits until it answers `GET /health`. */
export async function startTarget(spec: TargetSpec, port: number, logFile: string): Promise<RunningTarget> {
  // `exec` keeps the shell's pid for the server, so /proc finds the server's whole tree under it.
  const child = new Deno.Command("sh", {
    args: ["-c", 'ulimit -n 20000 2>/dev/null; exec "$@" >"$BENCH_LOG" 2>&1', "sh", ...spec.command],
    env: { ...spec.env, BENCH_LOG: logFile },
    stdin: "null",
  }).spawn();
  const exited = child.status;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      return; // already gone
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const up = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.body?.cancel().then(() => true),
      () => false,
    );
    if (up) return { pid: child.pid, stop };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop();
  throw new Error(`Target did not answer /health within 30 s; see ${logFile}`);
}
