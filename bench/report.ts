/**
 * The bench's report: one row per figure, one column per target, and the service's ratio to each peer; the
 * same table goes to the terminal and, with the machine it ran on, into bench/RESULTS.md.
 */
import type { TargetName } from "./targets.ts";

// deno-lint-ignore no-explicit-any
export type TargetResults = Record<string, any>;

interface Row {
  label: string;
  /** Whether a higher figure is better, for the reader of the ratios. */
  higherIsBetter: boolean;
  pick(r: TargetResults): number | null | undefined;
}

const ROWS: Row[] = [
  { label: "idle sockets held", higherIsBetter: true, pick: (r) => r.idle?.sockets },
  { label: "RSS per socket (KiB)", higherIsBetter: false, pick: (r) => r.idle?.rssPerSocketKb },
  { label: "server CPU per socket opened (µs)", higherIsBetter: false, pick: (r) => r.idle?.cpuUsPerSocket },
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
  { label: "relay latency p50 (ms)", higherIsBetter: false, pick: (r) => r.relay?.remote.p50Ms },
  { label: "relay latency p99 (ms)", higherIsBetter: false, pick: (r) => r.relay?.remote.p99Ms },
  { label: "relay latency max (ms)", higherIsBetter: false, pick: (r) => r.relay?.remote.maxMs },
  { label: "relay CPU per frame (µs)", higherIsBetter: false, pick: (r) => r.relay?.cpuUsPerFrame },
];

const PEERS: TargetName[] = ["bare_deno", "node_ws", "socketio"];

const show = (v: number | null | undefined) =>
  v === null || v === undefined ? "n/a" : Number.isInteger(v) ? String(v) : v.toFixed(2);

/** The table as Markdown rows (which also read well in a terminal). */
export function table(results: Partial<Record<TargetName, TargetResults>>): string {
  const names = Object.keys(results) as TargetName[];
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
  return lines.map((cells) => `| ${cells.join(" | ")} |`).join("\n");
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
  results: Partial<Record<TargetName, TargetResults>>,
  notes: string[],
) {
  const generated = [
    BEGIN,
    `Latest run: \`${info.command}\` on ${info.date}.`,
    "",
    `Machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGb} GB; Deno ${info.deno}, Node ${info.node}.`,
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
