/**
 * The development server, run by scripts/dev.ts under `deno run --watch`: the service in this one isolate,
 * listening on `HOST` (loopback by default). It registers no signal listener on purpose: under `--watch` a
 * module that handles SIGTERM and exits only makes the watcher wait for a file change, while the default
 * action ends the watcher too.
 */
import { loadConfig } from "../lib/config.ts";
import { guardAgainstCrashes } from "../lib/crash_guard.ts";
import { createLogger } from "../lib/log.ts";
import { listenOnHosts, loadInstance } from "./instance.ts";

// scripts/dev.ts has validated the environment and resolved PORT and HOST already.
const config = loadConfig();
const log = createLogger(config.logLevel, { service: "jasaweb-realtime" });
guardAgainstCrashes(log);
const instance = await loadInstance();
// A watch restart binds while the port is briefly free; should something take it meanwhile, keep trying.
const { addresses } = await listenOnHosts(instance, {
  hosts: config.hosts,
  port: config.port,
  reusePort: false,
  firstBind: "retry",
  log,
});
log.info("Listening", { addresses });
