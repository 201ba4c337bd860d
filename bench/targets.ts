/**
 * The servers the bench compares: the service, started as `deno task start` starts it with the limits a
 * deployment behind carrier-grade NAT runs, three runs of it that exist only for one figure each, and the
 * three peers. Each runs in its own process tree, with its output in a log file, and is stopped with SIGTERM.
 */
import { descriptorsNeeded } from "../lib/fd_limit.ts";
import { V8_FLAGS } from "../scripts/v8_flags.ts";

export type PeerName = "bare_deno" | "node_ws" | "socketio";
/** `service` is the headline run; the others are the service too, each for one figure of the targets. */
export type ServiceRunName =
  | "service"
  | "service_limits_off"
  | "service_ip_limit_50"
  | "service_ip_limit_2000";
export type TargetName = ServiceRunName | PeerName;

export const PEERS: readonly PeerName[] = ["bare_deno", "node_ws", "socketio"];
export const TARGETS: readonly TargetName[] = [
  "service",
  "service_limits_off",
  "service_ip_limit_50",
  "service_ip_limit_2000",
  ...PEERS,
];

/** The workloads every target runs (names of bench/loadgen.mjs), in order. */
const COMMON_WORKLOADS: readonly string[] = ["idleAndFanOut", "handshakes", "steady", "events", "relay"];

/** Concurrent sockets allowed per user and per client IP. */
export interface SocketLimits {
  perUser: number;
  perIp: number;
}

/**
 * Production's limits: three sockets a user, and a per-IP limit sized for thousands of users behind one
 * carrier-grade NAT (20,000, as README "Benchmarks" says), above the most sockets any workload holds from the
 * one address.
 */
export const PRODUCTION_LIMITS: Readonly<SocketLimits> = { perUser: 3, perIp: 20_000 };

interface ServiceRun {
  /** `"off"` only for `service_limits_off`, the other side of the handshake ratio, never a figure of its own. */
  limits: SocketLimits | "off";
  workloads: readonly string[];
}

const SERVICE_RUNS: Record<ServiceRunName, ServiceRun> = {
  // Every headline figure, then the one-address crowd, then the count of places left once all is closed.
  service: { limits: PRODUCTION_LIMITS, workloads: [...COMMON_WORKLOADS, "oneAddress", "placesLeft"] },
  service_limits_off: { limits: "off", workloads: ["oneAddress"] },
  // Bursts past smaller per-IP limits, every socket closed at once, and the places left counted.
  service_ip_limit_50: { limits: { ...PRODUCTION_LIMITS, perIp: 50 }, workloads: ["burstAndClose"] },
  service_ip_limit_2000: { limits: { ...PRODUCTION_LIMITS, perIp: 2_000 }, workloads: ["burstAndClose"] },
};

/** Whether a target is the service (in any of its runs) rather than a peer. */
export const isServiceRun = (name: TargetName): name is ServiceRunName => name in SERVICE_RUNS;

/** The service's limits in this run, as results.json and the report show them. */
export const limitsOf = (name: ServiceRunName) => SERVICE_RUNS[name].limits;

/** Which workloads of bench/loadgen.mjs a target runs, in order. */
export const workloadsOf = (name: TargetName): readonly string[] =>
  isServiceRun(name) ? SERVICE_RUNS[name].workloads : COMMON_WORKLOADS;

/** Workers of the service and of bare Deno: one per core, as in production. `MAX_CONNECTIONS` is per worker. */
const WORKERS = navigator.hardwareConcurrency;
/** Descriptors the bench allows each server process (`ulimit -n`), as on the production machines. */
const DESCRIPTORS = 20_000;

/** The most sockets per worker the process's descriptors hold, by the service's own reckoning. */
function maxConnectionsPerWorker(workers: number): number {
  let max = Math.floor(DESCRIPTORS / workers);
  while (descriptorsNeeded(max, workers) > DESCRIPTORS) max--;
  return max;
}

function limitsEnv(limits: SocketLimits | "off"): Record<string, string> {
  if (limits === "off") {
    // The service reads 0 as "no limit". Only the limits-off comparison run switches them off.
    const noLimit = "0";
    return { RATE_LIMIT_PER_USER: noLimit, RATE_LIMIT_PER_IP: noLimit };
  }
  return { RATE_LIMIT_PER_USER: String(limits.perUser), RATE_LIMIT_PER_IP: String(limits.perIp) };
}

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
  /** The service's KV file, for the readers that tell isolates apart and count places. */
  kvPath?: string;
}

export interface SpecOptions {
  secrets: Secrets;
  /** The service's temporary store. */
  kvPath: string;
  /** Runs the target on one worker with the V8 inspector open there, for bench/profile.ts. */
  inspectPort?: number;
}

/** How to start one target on `port`. */
export function targetSpec(name: TargetName, port: number, options: SpecOptions): TargetSpec {
  const { secrets, kvPath, inspectPort } = options;
  const deno = Deno.execPath();
  const inspect = inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [];
  const denoServe = (...args: string[]) =>
    inspectPort
      ? [deno, "serve", ...args, ...inspect, "--port", String(port)]
      : [deno, "serve", ...args, "--parallel", "--port", String(port)];
  if (isServiceRun(name)) {
    return {
      // What `deno task start` runs: scripts/serve.ts, one worker per core serving on the port with
      // SO_REUSEPORT, V8 flags on its command line (they reach the workers' heaps only from there).
      command: inspectPort
        ? [...denoServe("--allow-all"), "main.ts"]
        : [deno, "run", "--allow-all", `--v8-flags=${V8_FLAGS}`, "scripts/serve.ts"],
      parallel: !inspectPort,
      kvPath,
      env: {
        PORT: String(port),
        REALTIME_ENV: "production",
        SESSION_JWT_SECRET: secrets.session,
        WS_TOKEN_SECRET: secrets.socket,
        WEBHOOK_SECRETS: secrets.webhook,
        ALLOWED_ORIGINS: "http://localhost:8000",
        RELAY: "broadcast",
        KV_PATH: kvPath,
        WORKERS: String(WORKERS),
        // Per worker: together the workers may hold what the process's descriptors allow, and one address's
        // 15,000 sockets fit whichever way the kernel spreads them.
        MAX_CONNECTIONS: String(maxConnectionsPerWorker(inspectPort ? 1 : WORKERS)),
        ...limitsEnv(SERVICE_RUNS[name].limits),
        // MESSAGE_RATE_PER_MINUTE stays at its default: the relay workload's publisher sends 60 frames.
        // A line per socket at "info" would measure the log pipe, not the service.
        LOG_LEVEL: "warn",
      },
    };
  }
  switch (name) {
    case "bare_deno":
      return {
        command: [
          ...denoServe("--allow-env", "--allow-net", `--v8-flags=${V8_FLAGS}`),
          "bench/peers/bare_deno.ts",
        ],
        parallel: !inspectPort,
        env: { WS_TOKEN_SECRET: secrets.socket, DENO_JOBS: String(WORKERS) },
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
    args: [
      "-c",
      `ulimit -n ${DESCRIPTORS} 2>/dev/null; exec "$@" >"$BENCH_LOG" 2>&1`,
      "sh",
      ...spec.command,
    ],
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
