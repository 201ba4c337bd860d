/**
 * Wiring only: config → kv → relay → service → app. Each worker of `deno task start` (scripts/worker.ts) and
 * the dev server (scripts/dev_server.ts) import this module and serve its default export on their own
 * listeners; Deno Deploy and `deno serve main.ts` serve the default export directly.
 */
import { createApp } from "./app.ts";
import { ConfigError, loadConfig } from "./lib/config.ts";
import { openKv } from "./lib/kv.ts";
import { createLogger } from "./lib/log.ts";
import { createMetrics } from "./lib/metrics.ts";
import { createRelay } from "./lib/relay_factory.ts";
import { createService } from "./lib/service.ts";

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  Deno.exit(1);
}
export const log = createLogger(config.logLevel, { service: "jasaweb-realtime" });
const kv = await openKv(config.kvPath);
const metrics = createMetrics();
const relay = await createRelay(config, kv, log, metrics);
export const service = createService({ config, kv, relay, log, metrics });
await service.start();
const app = createApp(service);

if (import.meta.main) {
  // Served by `deno serve main.ts` (or a platform): nobody else will end the service on a signal. Imported by
  // a worker or the dev server, this module leaves signals to them.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, async () => {
        await service.shutdown();
        // Give the close frames a moment to leave before the process ends.
        setTimeout(() => Deno.exit(0), 250);
      });
    } catch {
      // Signal listeners are not available on every platform.
    }
  }
}

const fetch = (req: Request, info: Deno.ServeHandlerInfo) =>
  app.fetch(req, { remoteAddr: info.remoteAddr as Deno.NetAddr });

export default { fetch } satisfies Deno.ServeDefaultExport;
