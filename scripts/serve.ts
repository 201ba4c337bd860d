/**
 * Launches the service with `deno serve`: validates the configuration first (one line per bad variable),
 * then serves `main.ts` on `PORT`, with `--parallel` in production and file watching in development.
 *   deno run -A scripts/serve.ts --dev     (deno task dev)
 *   deno run -A scripts/serve.ts           (deno task start)
 */
import { ConfigError, loadConfig } from "../lib/config.ts";
import { V8_FLAGS } from "./v8_flags.ts";

const dev = Deno.args.includes("--dev");
let config;
try {
  config = loadConfig({ ...Deno.env.toObject(), ...(dev ? {} : { REALTIME_ENV: "production" }) });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  Deno.exit(1);
}

const permissions = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-sys",
  "--allow-run",
];
const mode = dev ? ["--watch=lib/,routes/,islands/,app.ts"] : ["--parallel"];
const v8Flags = [`--v8-flags=${V8_FLAGS}`];
const env: Record<string, string> = dev ? {} : { REALTIME_ENV: "production" };
if (dev && !Deno.env.get("SESSION_JWT_SECRET")) {
  // One dev secret for the whole run, so tokens survive a watch restart.
  env.SESSION_JWT_SECRET = config.session.secret!;
  env.WS_TOKEN_SECRET = config.wsTokenSecret;
  env.WEBHOOK_SECRETS = config.webhookSecrets.join(" ");
}

if (dev) {
  const port = config.port;
  console.log(`
JasaWeb Realtime (development) on http://localhost:${port}
  Demo dashboard:   http://localhost:${port}/demo
  Status panel:     http://localhost:${port}/admin
  A session token:  curl -s -X POST localhost:${port}/api/dev/session -d '{"userId":"client-budi"}'
  A socket token:   curl -s -X POST localhost:${port}/api/websocket/token -H "Authorization: Bearer <session token>"
  Connect:          new WebSocket("ws://localhost:${port}/ws", ["realtime.v1", "<socket token>"])
`);
}

const child = new Deno.Command(Deno.execPath(), {
  args: ["serve", ...v8Flags, ...permissions, ...mode, "--port", String(config.port), "main.ts"],
  env,
  stdin: "null",
}).spawn();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => child.kill(signal));
}
Deno.exit((await child.status).code);
