/**
 * The bench's report: one row per figure, one column per target, and the service's ratio to each peer; then
 * the targets of README "Benchmarks", each as the ratio or count it names with whether this run met it. The
 * same tables go to the terminal and, with the machine it ran on, into bench/RESULTS.md; the verdicts also
 * into results.json.
 */
import { steadyLessEventShare } from "./figures.ts";
import { PEERS, type TargetName } from "./targets.ts";
import { targetVerdicts, type Verdict } from "./verdicts.ts";

// deno-lint-ignore no-explicit-any
export type TargetResults = Record<string, any>;
export type AllResults = Partial<Record<TargetName, TargetResults>>;

interface Row {
  label: string;
  /** Whether a higher figure is better, for the reader of the ratios. */
  higherIsBetter: boolean;
  pick(r: TargetResults): number | null | undefined;
}

const ROWS: Row[] = [
  { label: "idle sockets held", higherIsBetter: true, pick: (r) => r.idle?.sockets },
  {
    label: "RSS per socket, settled: median 20–50 s after opening (KiB)",
    higherIsBetter: false,
    pick: (r) => r.idle?.rssPerSocketKb,
  },
  {
    label: "RSS per socket, 1.5 s after opening (KiB)",
    higherIsBetter: false,
    pick: (r) => r.idle?.rssAfterBurstPerSocketKb,
  },
  { label: "server CPU per socket opened (µs)", higherIsBetter: false, pick: (r) => r.idle?.cpuUsPerSocket },
  {
    label: "server CPU per idle socket closed, until settled (µs)",
    higherIsBetter: false,
    pick: (r) => r.idle?.closeCpuUsPerSocket,
  },
  { label: "authenticated handshakes/s", higherIsBetter: true, pick: (r) => r.handshakes?.perSecond },
  {
    label: "server CPU per handshake (µs)",
    higherIsBetter: false,
    pick: (r) => r.handshakes?.cpuUsPerHandshake,
  },
  { label: "fan-out frames/s", higherIsBetter: true, pick: (r) => r.fanout?.framesPerSecond },
  { label: "fan-out CPU per frame (µs)", higherIsBetter: false, pick: (r) => r.fanout?.cpuUsPerFrame },
  { label: "steady latency p50 (ms)", higherIsBetter: false, pick: (r) => r.steady?.p50Ms },
  { label: "steady latency p99 (ms)", higherIsBetter: false, pick: (r) => r.steady?.p99Ms },
  { label: "steady latency max (ms)", higherIsBetter: false, pick: (r) => r.steady?.maxMs },
  { label: "steady CPU per frame (µs)", higherIsBetter: false, pick: (r) => r.steady?.cpuUsPerFrame },
  {
    label: "server CPU per event, no sockets (µs)",
    higherIsBetter: false,
    pick: (r) => r.events?.cpuUsPerEvent,
  },
  {
    label: "steady CPU per frame less its event's share (µs)",
    higherIsBetter: false,
    pick: steadyLessEventShare,
  },
  { label: "relay latency p50 (ms)", higherIsBetter: false, pick: (r) => r.relay?.remote.p50Ms },
  { label: "relay latency p99 (ms)", higherIsBetter: false, pick: (r) => r.relay?.remote.p99Ms },
  { label: "relay latency max (ms)", higherIsBetter: false, pick: (r) => r.relay?.remote.maxMs },
  { label: "relay CPU per frame (µs)", higherIsBetter: false, pick: (r) => r.relay?.cpuUsPerFrame },
  { label: "one address: sockets held", higherIsBetter: true, pick: (r) => r.oneAddress?.held },
  { label: "one address: handshakes/s", higherIsBetter: true, pick: (r) => r.oneAddress?.perSecond },
  {
    label: "one address: handshake p99 (ms)",
    higherIsBetter: false,
    pick: (r) => r.oneAddress?.handshake.p99Ms,
  },
  {
    label: "one address: server CPU per handshake (µs)",
    higherIsBetter: false,
    pick: (r) => r.oneAddress?.cpuUsPerHandshake,
  },
  {
    label: "places left after every socket closed",
    higherIsBetter: false,
    pick: (r) => r.placesLeft?.leaked,
  },
];

const show = (v: number | null | undefined) =>
  v === null || v === undefined ? "n/a" : Number.isInteger(v) ? String(v) : v.toFixed(2);

/**
 * The figures as Markdown rows (which also read well in a terminal): the service's headline run and the
 * peers. The service's other runs (limits off, smaller per-IP limits) appear only in the targets.
 */
export function table(results: AllResults): string {
  const names = (["service", ...PEERS] as TargetName[]).filter((n) => results[n]);
  const peers = PEERS.filter((p) => names.includes(p));
  const header = ["figure", "better", ...names, ...peers.map((p) => `service ÷ ${p}`)];
  const lines = [header, header.map(() => "---")];
  for (const row of ROWS) {
    const service = results.service ? row.pick(results.service) : undefined;
    const ratio = (peer: TargetName) => {
      const theirs = row.pick(results[peer]!);
      return typeof service === "number" && typeof theirs === "number" && theirs !== 0
        ? `${(service / theirs).toFixed(2)}×`
        : "n/a";
    };
    lines.push([
      row.label,
      row.higherIsBetter ? "higher" : "lower",
      ...names.map((n) => show(row.pick(results[n]!))),
      ...peers.map(ratio),
    ]);
  }
  return markdown(lines);
}

/**
 * The targets (README "Benchmarks"), one row each: what it asks, what this run measured, and whether that
 * meets it.
 */
export function targetsTable(verdicts: Verdict[]): string {
  const status = (met: Verdict["met"]) =>
    met === "reported" ? "reported" : met === null ? "n/a" : met ? "met" : "not met";
  return markdown([
    ["target", "goal", "measured", "status"],
    ["---", "---", "---", "---"],
    ...verdicts.map((v) => [v.figure, v.goal, v.measured, status(v.met)]),
  ]);
}

const markdown = (lines: string[][]) => lines.map((cells) => `| ${cells.join(" | ")} |`).join("\n");

/** Sockets a target refused in any workload, one line per target: the figures above count only those held. */
export function refusalNotes(results: AllResults): string[] {
  const notes: string[] = [];
  for (const [name, r] of Object.entries(results)) {
    const refusals = Object.entries(r ?? {})
      .filter(([, w]) => w && typeof w === "object" && w.refused && Object.keys(w.refused).length)
      .map(([workload, w]) => `${workload} ${JSON.stringify(w.refused)}`);
    if (refusals.length) notes.push(`Refused sockets, ${name}: ${refusals.join("; ")}.`);
  }
  return notes;
}

/** Where and how the bench ran: CPU model, cores, memory, runtimes, date, command. */
export async function machine(command: string) {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const node = await new Deno.Command("node", { args: ["--version"] }).output()
    .then((o) => new TextDecoder().decode(o.stdout).trim(), () => "absent");
  return {
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? "unknown",
    cores: navigator.hardwareConcurrency,
    memoryGb: Math.round(Number(/MemTotal:\s*(\d+)/.exec(meminfo)?.[1] ?? 0) / 1024 / 1024 * 10) / 10,
    deno: Deno.version.deno,
    node,
    date: new Date().toISOString(),
    command,
  };
}

const BEGIN = "<!-- bench:begin (written by bench/run.ts) -->";
const END = "<!-- bench:end -->";

/** Rewrites the generated part of RESULTS.md, keeping whatever was written by hand around it. */
export async function writeResultsMarkdown(
  path: string,
  info: Awaited<ReturnType<typeof machine>>,
  results: AllResults,
  notes: string[],
) {
  const generated = [
    BEGIN,
    `Latest run: \`${info.command}\` on ${info.date}.`,
    "",
    `Machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGb} GB; Deno ${info.deno}, Node ${info.node}.`,
    "",
    targetsTable(targetVerdicts(results)),
    "",
    table(results),
    "",
    ...notes.map((n) => `- ${n}`),
    END,
  ].join("\n");
  const old = await Deno.readTextFile(path).catch(() => "");
  const start = old.indexOf(BEGIN);
  const end = old.indexOf(END);
  const text = start >= 0 && end > start
    ? old.slice(0, start) + generated + old.slice(end + END.length)
    : `# Benchmark results\n\n${generated}\n`;
  await Deno.writeTextFile(path, text);
  // Keep the file as `deno task check` wants it (aligned table columns).
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
}
