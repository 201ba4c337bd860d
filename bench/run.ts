/**
 * `deno task bench [--quick] [--only=service,node_ws]`: starts each target in turn (the service as in
 * production with its limits on, the runs of it that exist for one target each, then its peers), drives it
 * from a separate load-generator process (bench/loadgen.mjs) over loopback, every socket from one source
 * address as a carrier-grade NAT presents its users, and reports every figure with the service's ratio to
 * each peer, and every target of README "Benchmarks", in the terminal, bench/results.json and
 * bench/RESULTS.md. Slowness and refused sockets are reported, never failed on; errors exit 1.
 */
import { STILL_LOOKS } from "../lib/burst_watch.ts";
import { createSocketTokens } from "../lib/socket_tokens.ts";
import { BEAT_INTERVAL_MS } from "../scripts/worker_protocol.ts";
import { startProfiler } from "./profile.ts";
import { inRounds, PAIRED_ROUNDS, PAIRS, roundWorkloads, withRounds } from "./rounds.ts";
import { targetVerdicts } from "./verdicts.ts";
import {
  machine,
  refusalNotes,
  table,
  type TargetResults,
  targetsTable,
  writeResultsMarkdown,
} from "./report.ts";
import {
  isServiceRun,
  limitsOf,
  PRODUCTION_LIMITS,
  type Secrets,
  startTarget,
  type TargetName,
  TARGETS,
  targetSpec,
  workloadsOf,
} from "./targets.ts";

const SIZES = {
  full: {
    idleSockets: 10_000,
    // 180, not 60: nine-second windows (60) of one run of the service ranged 10.5–12.7 µs a frame, bare Deno's
    // 9.8–10.9; a window three times as long averages what lands in it (a collection, a wave of pings).
    fanoutEvents: 180,
    handshakes: 3_000,
    handshakeConcurrency: 50,
    steadySockets: 1_000,
    steadyRate: 20,
    // 30 s, not 10: ten-second windows of one configuration ranged 10.0–11.8 µs a frame for bare Deno alone.
    steadySeconds: 30,
    relaySockets: 100,
    relayMessages: 60,
    relayRate: 20,
    oneAddressSockets: 15_000,
  },
  quick: {
    idleSockets: 1_000,
    fanoutEvents: 10,
    handshakes: 600,
    handshakeConcurrency: 32,
    steadySockets: 1_000,
    steadyRate: 20,
    steadySeconds: 3,
    relaySockets: 50,
    relayMessages: 30,
    relayRate: 20,
    oneAddressSockets: 2_000,
  },
};

/** Every socket comes from this one address, as users behind one carrier-grade NAT reach the service. */
const SOURCE_ADDRESS = "127.0.0.2";
/**
 * How long the idle workload waits once its sockets closed: until the service has given back the memory of the
 * burst (its count held still for STILL_LOOKS beats), with 5 s to spare for the closes and the release.
 */
const CLOSE_SETTLE_MS = STILL_LOOKS * BEAT_INTERVAL_MS + 5_000;
/** Distinct users the burst past a per-IP limit of 2,000 needs (a fifth over the limit). */
const BURST_USERS = 2_400;

const quick = Deno.args.includes("--quick");
/** `--profile`: each target on one worker under the V8 inspector, sampled by bench/profile.ts. */
const profile = Deno.args.includes("--profile");
const only = Deno.args.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
/** `--workloads=fanout,steady` runs only the workloads whose names contain one of these words. */
const workloads = Deno.args.find((a) => a.startsWith("--workloads="))?.slice("--workloads=".length).split(
  ",",
);
/** Whether a workload is one the `--workloads=` words pick (all when there are none). */
const picked = (workload: string) => !workloads || workloads.some((w) => workload.toLowerCase().includes(w));
const targets = TARGETS.filter((t) => (!only || only.includes(t)) && workloadsOf(t).some(picked));
const sizes = quick ? SIZES.quick : SIZES.full;
const benchDir = new URL(".", import.meta.url).pathname;
const root = new URL("..", import.meta.url).pathname;
Deno.chdir(root);

function randomBase64(bytes: number) {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))));
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function npmInstall() {
  console.log("Installing the Node peers' dependencies (npm install --prefix bench/peers)…");
  const { success } = await new Deno.Command("npm", {
    args: ["install", "--prefix", `${benchDir}peers`, "--no-audit", "--no-fund", "--loglevel=error"],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success) throw new Error("npm install failed");
}

/** Socket tokens for distinct users, minted with the service's own code and secret; peers check the same. */
async function mintTokens(secrets: Secrets, count: number) {
  const tokens = createSocketTokens(secrets.socket, 3600);
  const minted: string[] = [];
  for (let i = 0; i < count; i++) {
    const userId = `bench-user-${i}`;
    minted.push(
      (await tokens.mint({ userId, role: "client", name: `Bench ${i}`, email: `${userId}@example.com` }))
        .token,
    );
  }
  const admin = {
    userId: "bench-admin",
    role: "admin" as const,
    name: "Bench admin",
    email: "admin@example.com",
  };
  return {
    clients: minted,
    admin: (await tokens.mint(admin)).token,
  };
}

/** The command that runs one of the bench's KV readers on the service's file. */
const kvReader = (script: string, kvPath?: string) =>
  kvPath ? [Deno.execPath(), "run", "--allow-all", `${benchDir}${script}`, kvPath] : undefined;

/** One run of a target: its label (the target's name, or a round's) and the workloads it runs. */
interface Run {
  label: string;
  workloads: string[];
}

/** One run of a target, with its own store, log and plan under `run.label`. */
async function runTarget(
  name: TargetName,
  run: Run,
  dir: string,
  secrets: Secrets,
  tokens: Awaited<ReturnType<typeof mintTokens>>,
) {
  const { label } = run;
  const port = freePort();
  const inspectPort = profile ? freePort() : undefined;
  const spec = targetSpec(name, port, { secrets, kvPath: `${dir}/${label}.kv`, inspectPort });
  const logFile = `${dir}/${label}.log`;
  console.log(`\n${label}: ${spec.command.slice(1).join(" ")} (port ${port})`);
  const server = await startTarget(spec, port, logFile);
  const profiler = inspectPort ? await startProfiler(inspectPort) : undefined;
  try {
    const planFile = `${dir}/${label}.plan.json`;
    await Deno.writeTextFile(
      planFile,
      JSON.stringify({
        target: name,
        host: "127.0.0.1",
        port,
        sourceAddress: SOURCE_ADDRESS,
        serverPid: server.pid,
        sizes,
        workloads: run.workloads,
        limits: isServiceRun(name) ? limitsOf(name) : undefined,
        relay: spec.parallel,
        closeSettleMs: CLOSE_SETTLE_MS,
        tokensFile: `${dir}/tokens.json`,
        adminToken: tokens.admin,
        webhookSecret: isServiceRun(name) ? secrets.webhook : undefined,
        isolatesCommand: kvReader("isolates.ts", spec.kvPath),
        placesCommand: kvReader("places.ts", spec.kvPath),
      }),
    );
    const output = await new Deno.Command("sh", {
      args: ["-c", 'ulimit -n 20000 2>/dev/null; exec node "$@"', "sh", `${benchDir}loadgen.mjs`, planFile],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!output.success) throw new Error(`Load generator failed against ${name}; server log: ${logFile}`);
    await profiler?.finish(`${benchDir}profiles/${name}.cpuprofile`);
    const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
    return JSON.parse(lines[lines.length - 1]) as TargetResults;
  } finally {
    await server.stop();
  }
}

const dir = await Deno.makeTempDir({ prefix: "realtime-bench-" });
const command = `deno task bench${Deno.args.length ? " " + Deno.args.join(" ") : ""}`;
const results: Partial<Record<TargetName, TargetResults>> = {};
const errors: string[] = [];
try {
  await npmInstall();
  const secrets: Secrets = {
    session: randomBase64(32),
    socket: randomBase64(32),
    webhook: `whsec_${randomBase64(24)}`,
  };
  const tokens = await mintTokens(
    secrets,
    Math.max(
      sizes.idleSockets,
      sizes.handshakes,
      sizes.steadySockets,
      sizes.relaySockets,
      sizes.oneAddressSockets,
      BURST_USERS,
    ),
  );
  await Deno.writeTextFile(`${dir}/tokens.json`, JSON.stringify(tokens.clients));
  /** Runs a target once; its results, or null after noting why it failed. */
  const attempt = async (name: TargetName, run: Run) => {
    try {
      const measured = await runTarget(name, run, dir, secrets, tokens);
      for (const error of measured.errors ?? []) errors.push(`${run.label}: ${error}`);
      return measured;
    } catch (error) {
      errors.push(`${run.label}: ${error instanceof Error ? error.message : error}`);
      console.error(`  ${run.label} failed: ${error}`);
      return null;
    }
  };
  for (const name of targets) {
    // A profiled run has no rounds: each target runs every workload once, under the sampler.
    const workloads = workloadsOf(name).filter((w) => picked(w) && (profile || !inRounds(name, w)));
    if (workloads.length) results[name] = await attempt(name, { label: name, workloads }) ?? undefined;
  }
  // The paired rounds (bench/rounds.ts): both sides of each pair, back to back, round after round.
  const rounds = new Map<TargetName, TargetResults[]>();
  for (let round = 1; round <= PAIRED_ROUNDS && !profile; round++) {
    for (const pair of PAIRS) {
      for (const name of pair.targets.filter((t) => targets.includes(t))) {
        const workloads = workloadsOf(name).filter((w) => picked(w) && roundWorkloads(pair).includes(w));
        if (!workloads.some((w) => pair.workloads.includes(w))) continue;
        const measured = await attempt(name, { label: `${name}.round${round}`, workloads });
        const own = rounds.get(name) ?? [];
        // A target in two pairs (the service) runs twice a round: both runs make its round.
        if (measured) own[round - 1] = { ...own[round - 1], ...measured };
        rounds.set(name, own);
      }
    }
  }
  for (const [name, measured] of rounds) {
    const complete = measured.filter(Boolean);
    if (complete.length) results[name] = withRounds(results[name], complete);
  }
} finally {
  if (!errors.length) await Deno.remove(dir, { recursive: true }).catch(() => {});
}

const info = await machine(command);
const notes = [
  "Ratios are service ÷ peer from this one run; the machine is shared, so treat them as rough.",
  `Every socket comes from ${SOURCE_ADDRESS}, as users behind one carrier-grade NAT reach the service. ` +
  `The service runs with its limits on: ${PRODUCTION_LIMITS.perUser} sockets a user, ` +
  `${
    PRODUCTION_LIMITS.perIp.toLocaleString("en-US")
  } an IP; its limits-off run is only the other side of the handshake ratio, and ` +
  "its runs with per-IP limits of 50 and 2,000 only burst past them and count the places left.",
  "Service and bare Deno run one worker per core in one process (the service's own, bare Deno's " +
  "`deno serve --parallel`); Node peers are one process.",
  "Relay: publish from a socket on one worker → receipt on sockets of the other; n/a for one-process peers.",
  "CPU is utime+stime of the server's whole process tree (/proc), divided by frames delivered.",
  `Paired rounds (bench/rounds.ts): ${PAIRED_ROUNDS} rounds of the limits-off run and the service's ` +
  "one-address crowd (then its places left, the worst of these and its main run's), and of the service's " +
  "and bare Deno's idle and fan-out, steady and events workloads, the two sides back to back in each; " +
  "those figures are medians over the rounds, and the handshake ratio and every ratio to bare Deno judge " +
  "the median of the rounds' ratios.",
  "Events: publications at the steady rate for the steady window with no socket attached, so CPU per event " +
  "is what one costs before any frame, idle time included.",
  "Steady CPU per frame less its event's share: the steady figure less the events workload's CPU per event " +
  "divided by the steady sockets: the CPU of the frames, and of the work an event costs only when it has " +
  "sockets to reach (the two workloads differ only in the sockets). The steady CPU target judges it; the " +
  "steady figure with the event's share in is reported beside it.",
  "One address: distinct users' sockets opened 256 at a time and held (service only); places: connection " +
  "places still taken in the service's KV file once every socket has closed.",
  ...refusalNotes(results),
  ...errors.map((e) => `Error: ${e}`),
];
const verdicts = targetVerdicts(results);
console.log(`\n${targetsTable(verdicts)}\n\n${table(results)}\n`);
for (const note of [...refusalNotes(results), ...errors]) console.log(note);
// Profiled runs are slowed by the sampler and run on one worker, and partial runs leave figures out: the
// files keep the last complete run.
if (profile || only || workloads) Deno.exit(errors.length ? 1 : 0);
await Deno.writeTextFile(
  `${benchDir}results.json`,
  JSON.stringify({ ...info, sizes, targets: verdicts, results, errors }, null, 2) + "\n",
);
await writeResultsMarkdown(`${benchDir}RESULTS.md`, info, results, notes);
console.log(
  `Wrote bench/results.json and bench/RESULTS.md${errors.length ? `; errors, logs kept in ${dir}` : ""}.`,
);
if (errors.length) Deno.exit(1);
