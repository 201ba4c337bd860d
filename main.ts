/**
 * Wiring only: config → kv → relay → app → serve. `deno serve` (through `scripts/serve.ts`) imports this
 * module in each worker and serves its default export.
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
const log = createLogger(config.logLevel, { service: "jasaweb-realtime" });
const kv = await openKv(config.kvPath);
const metrics = createMetrics();
const relay = await createRelay(config, kv, log, metrics);
const service = createService({ config, kv, relay, log, metrics });
await service.start();
const app = createApp(service);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  try {
    Deno.addSignalListener(signal, async () => {
      await service.shutdown();
      // Every worker gets the signal; give the others' close frames a moment before the process ends.
      setTimeout(() => Deno.exit(0), 250);
    });
  } catch {
    // Signal listeners are not available in every worker; the main process still stops.
  }
}

const fetch = (req: Request, info: Deno.ServeHandlerInfo) =>
  app.fetch(req, { remoteAddr: info.remoteAddr as Deno.NetAddr });

export default { fetch } satisfies Deno.ServeDefaultExport;
