/**
 * Debian's Prometheus tools for tests: `promtool check metrics` lints an exposition, and a real `prometheus`
 * server scrapes the service on loopback. Locally a missing tool skips those tests with a loud line; under
 * `CI=true` they run and fail.
 */
import { freePort } from "./process.ts";

function found(command: string): boolean {
  try {
    return new Deno.Command(command, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

const installed = found("promtool") && found("prometheus");
const inCi = Deno.env.get("CI") === "true";
if (!installed) {
  const line = "prometheus/promtool not found: Prometheus tests " + (inCi ? "FAIL (CI=true)" : "are SKIPPED");
  console.error(`\n!!!!!!!! ${line} !!!!!!!!\n`);
}

/** Whether Prometheus tests should be ignored: true only locally without the tools (under CI they fail). */
export const ignorePrometheusTests = !installed && !inCi;

/** Runs `promtool check metrics` on an exposition: its exit code and what it printed. */
export async function promtoolCheck(exposition: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(exposition));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

export interface PrometheusServer {
  url: string;
  /** The value of an instant query's first sample, or undefined while it has none. */
  query(expr: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

/** Starts a Prometheus server that scrapes `target` (`host:port`) every second with a bearer token. */
export async function startPrometheus(target: string, bearer: string): Promise<PrometheusServer> {
  const dir = await Deno.makeTempDir({ prefix: "prometheus_" });
  await Deno.writeTextFile(`${dir}/token`, bearer);
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    [
      "global: { scrape_interval: 1s, scrape_timeout: 900ms }",
      "scrape_configs:",
      "  - job_name: jasaweb-realtime",
      `    authorization: { credentials_file: ${dir}/token }`,
      `    static_configs: [{ targets: ["${target}"] }]`,
      "",
    ].join("\n"),
  );
  const port = freePort();
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`).catch(() => null);
      if (!res?.ok) {
        await res?.body?.cancel();
        return undefined;
      }
      const body = await res.json();
      const sample = body?.data?.result?.[0]?.value?.[1];
      return sample === undefined ? undefined : Number(sample);
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
