/**
 * `deno task dev`, after scripts/serve.ts checked the configuration and the port: prints how to start, then
 * runs scripts/dev_server.ts under Deno's file watcher, with this run's secrets pinned so that tokens survive
 * a restart. Exits with the watcher's status, or 0 when stopped by a signal.
 */
import type { Config } from "../lib/config.ts";

const WATCHED = "lib/,routes/,islands/,app.ts,main.ts,scripts/dev_server.ts,scripts/instance.ts";

function banner(port: number, hosts: readonly string[]) {
  const base = `http://localhost:${port}`;
  const where = hosts.map((h) => (h.includes(":") ? `[${h}]` : h)).join(" and ");
  return `
JasaWeb Realtime (development) on ${base} (listening on ${where} only; set HOST to change)
  Demo dashboard:   ${base}/demo
  Status panel:     ${base}/admin
  A session token:  curl -s -X POST localhost:${port}/api/dev/session -d '{"userId":"client-budi"}'
  A socket token:   curl -s -X POST localhost:${port}/api/websocket/token -H "Authorization: Bearer <session token>"
  Connect:          new WebSocket("ws://localhost:${port}/ws", ["realtime.v1", "<socket token>"])
`;
}

/** Runs the dev server on `port` at `hosts` (both already checked free) until it ends or a signal comes. */
export async function runDev(config: Config, port: number, hosts: readonly string[]): Promise<never> {
  const env: Record<string, string> = { PORT: String(port), HOST: hosts.join(",") };
  if (!Deno.env.get("SESSION_JWT_SECRET")) {
    // One dev secret for the whole run, so tokens survive a watch restart.
    env.SESSION_JWT_SECRET = config.session.secret!;
    env.WS_TOKEN_SECRET = config.wsTokenSecret;
    env.WEBHOOK_SECRETS = config.webhookSecrets.join(" ");
  }
  console.log(banner(port, hosts));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `--watch=${WATCHED}`, "scripts/dev_server.ts"],
    cwd: new URL("../", import.meta.url).pathname,
    env,
    stdin: "null",
  }).spawn();
  let signalled = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      signalled = true;
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone (a Ctrl-C reaches the whole process group).
      }
    });
  }
  const status = await child.status;
  Deno.exit(signalled ? 0 : status.code);
}
