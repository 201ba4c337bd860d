/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: it throws on anything a
 * Prometheus server would reject or misread (bad names, bad escapes, a sample before its TYPE, interleaved
 * families, a histogram whose buckets are not cumulative or lack `+Inf`).
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, line: number): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
    throw new Error(`line ${line}: bad value "${text}"`);
  }
  return Number(text);
}

function parseLabels(text: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after "{"
  while (true) {
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf("=", i);
    if (eq === -1) throw new Error(`line ${line}: label without "="`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name "${name}"`);
    if (name in labels) throw new Error(`line ${line}: label "${name}" repeated`);
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label value must be quoted`);
    let value = "";
    let j = eq + 2;
    for (;; j++) {
      const ch = text[j];
      if (ch === undefined || ch === "\n") throw new Error(`line ${line}: unterminated label value`);
      if (ch === '"') break;
      if (ch === "\\") {
        const next = text[++j];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`line ${line}: bad escape "\\${next}"`);
      } else value += ch;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new Error(`line ${line}: expected "," or "}" after a label`);
  }
}

/** The family a sample belongs to: histogram samples carry `_bucket`, `_sum` and `_count` suffixes. */
function familyOf(sample: string, families: Map<string, MetricFamily>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = sample.slice(0, -suffix.length);
    if (sample.endsWith(suffix) && families.get(base)?.type === "histogram") return base;
  }
  return sample;
}

function checkHistogram(f: MetricFamily) {
  const buckets = f.samples.filter((s) => s.name === `${f.name}_bucket`);
  const count = f.samples.find((s) => s.name === `${f.name}_count`);
  if (!f.samples.some((s) => s.name === `${f.name}_sum`) || !count) {
    throw new Error(`${f.name}: histogram without _sum or _count`);
  }
  let previous = -Infinity;
  let last = 0;
  for (const b of buckets) {
    if (!("le" in b.labels)) throw new Error(`${f.name}: bucket without le`);
    const le = parseValue(b.labels.le, 0);
    if (le <= previous) throw new Error(`${f.name}: buckets not in increasing le order`);
    if (b.value < last) throw new Error(`${f.name}: buckets are not cumulative`);
    previous = le;
    last = b.value;
  }
  if (previous !== Infinity) throw new Error(`${f.name}: no +Inf bucket`);
  if (last !== count.value) throw new Error(`${f.name}: +Inf bucket differs from _count`);
}

/** Parses a whole exposition into its families, in order. */
export function parsePrometheus(text: string): Map<string, MetricFamily> {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, MetricFamily>();
  const closed = new Set<string>();
  let current: string | undefined;
  const open = (name: string) => {
    if (current !== name) {
      if (closed.has(name)) throw new Error(`family ${name} is interleaved with another`);
      if (current) closed.add(current);
      current = name;
    }
    let f = families.get(name);
    if (!f) families.set(name, f = { name, type: "untyped", samples: [] });
    return f;
  };
  text.slice(0, -1).split("\n").forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    if (raw.startsWith("#")) {
      const m = raw.match(/^# (HELP|TYPE) (\S+) ?(.*)$/);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`line ${line}: bad metric name "${name}"`);
      const f = open(name);
      if (kind === "HELP") {
        if (f.help !== undefined) throw new Error(`line ${line}: second HELP for ${name}`);
        f.help = rest.replace(/\\(n|\\)/g, (_, c) => (c === "n" ? "\n" : "\\"));
      } else {
        if (!TYPES.has(rest)) throw new Error(`line ${line}: unknown type "${rest}"`);
        if (f.samples.length || f.type !== "untyped") throw new Error(`line ${line}: TYPE after samples`);
        f.type = rest as MetricFamily["type"];
      }
      return;
    }
    const m = raw.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$/);
    if (!m) throw new Error(`line ${line}: not a sample: ${raw}`);
    const [, name, after] = m;
    const { labels, rest } = after.startsWith("{") ? parseLabels(after, line) : { labels: {}, rest: after };
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(" ") || parts.length < 1 || parts.length > 2) {
      throw new Error(`line ${line}: expected " value [timestamp]"`);
    }
    const value = parseValue(parts[0], line);
    const f = open(familyOf(name, families));
    if (f.type === "counter" && !(value >= 0)) throw new Error(`line ${line}: counter ${name} is negative`);
    if (f.samples.some((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))) {
      throw new Error(`line ${line}: duplicate series ${name}`);
    }
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

/** The value of one series, or undefined. Labels must match exactly. */
export function sampleValue(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(s.labels);
      if (keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k])) {
        return s.value;
      }
    }
  }
  return undefined;
}
