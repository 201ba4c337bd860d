/**
 * Starts the service:
 *   deno task start   (deno run --allow-all --v8-flags=--max-semi-space-size=4,--expose-gc scripts/serve.ts)
 *   deno task dev     (deno run --allow-all scripts/serve.ts --dev)
 * First the configuration and the port are checked; either failing prints plain lines (one per problem) and
 * exits 1. Then the descriptor limit is raised, and production runs one worker per core in this process
 * (scripts/workers.ts), writing nothing but JSON log lines; development runs the service under a file
 * watcher on loopback (scripts/dev.ts).
 */
import { type Config, ConfigError, DEV_HOSTS, loadConfig } from "../lib/config.ts";
import { guardAgainstCrashes } from "../lib/crash_guard.ts";
import { descriptorsNeeded, raiseDescriptorLimit } from "../lib/fd_limit.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import { checkPort, portInUseMessage } from "../lib/port_probe.ts";
import { runDev } from "./dev.ts";
import { startWorkerPool, WorkerStartError } from "./workers.ts";

function fail(message: string): never {
  console.error(message);
  Deno.exit(1);
}

/**
 * Raises the descriptor limit, and warns when the sockets the configuration allows cannot fit under it.
 * Returns the soft limit in force, where known.
 */
function prepareDescriptors(log: Logger, maxConnections: number, workers: number): number | undefined {
  const outcome = raiseDescriptorLimit();
  if (outcome.problem) {
    log.warn("Descriptor limit not raised", { reason: outcome.problem, limit: outcome.limit?.soft });
  } else if (outcome.raisedFrom !== undefined) {
    log.info("Descriptor limit raised", { from: outcome.raisedFrom, to: outcome.limit.soft });
  }
  const limit = outcome.limit?.soft;
  const needed = descriptorsNeeded(maxConnections, workers);
  if (limit !== undefined && needed > limit) {
    log.warn(
      `Descriptor limit ${limit} cannot hold MAX_CONNECTIONS × workers: ${maxConnections} × ${workers} ` +
        `sockets need about ${needed} descriptors; past the limit new connections are refused until ` +
        `descriptors come back (raise ulimit -n, or lower MAX_CONNECTIONS or WORKERS)`,
      { limit, needed, maxConnections, workers },
    );
  }
  return limit;
}

async function runProduction(config: Config, port: number, hosts: string[], log: Logger) {
  guardAgainstCrashes(log);
  const descriptorLimit = prepareDescriptors(log, config.maxConnections, config.workers);
  const pool = startWorkerPool({ count: config.workers, hosts, port, logLevel: config.logLevel, log });
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      if (stopping) return;
      stopping = true;
      log.info("Shutting down", { signal });
      await pool.stop();
      Deno.exit(0);
    });
  }
  try {
    const addresses = await pool.ready;
    log.info("Service started", { addresses, workers: config.workers, descriptorLimit });
  } catch (error) {
    if (!(error instanceof WorkerStartError)) throw error;
    // The port was free a moment ago at the check; something took it since.
    fail(error.portInUse ? portInUseMessage(port) : error.message);
  }
}

const dev = Deno.args.includes("--dev");
let config: Config;
try {
  config = loadConfig({ ...Deno.env.toObject(), ...(dev ? {} : { REALTIME_ENV: "production" }) });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  fail(error.message);
}
// Dev's default ::1 is left out on a machine without IPv6; an address named in HOST never is.
const optional = dev && !Deno.env.get("HOST") ? DEV_HOSTS.filter((h) => h.includes(":")) : [];
const check = checkPort(config.hosts, config.port, optional);
if (!check.ok) fail(check.message);
const log = createLogger(config.logLevel, { service: "jasaweb-realtime" });
if (dev) {
  // Raised here, the limit is inherited by the watched dev server; it is one isolate.
  prepareDescriptors(log, config.maxConnections, 1);
  await runDev(config, check.port, check.hosts);
} else await runProduction(config, check.port, check.hosts, log);
