/** Picks the relay named by `RELAY`. */
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import { createNoRelay, type Relay } from "./relay.ts";
import { createBroadcastRelay } from "./relay_broadcast.ts";

export function createRelay(config: Config, _kv: Deno.Kv, _log: Logger): Promise<Relay> {
  switch (config.relay) {
    case "broadcast":
      return Promise.resolve(createBroadcastRelay());
    case "none":
      return Promise.resolve(createNoRelay());
    default:
      throw new Error(`RELAY=${config.relay} is not built yet`);
  }
}
