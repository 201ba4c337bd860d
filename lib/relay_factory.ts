/** Picks the relay named by `RELAY`. */
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { createNoRelay, type Relay } from "./relay.ts";
import { createBroadcastRelay } from "./relay_broadcast.ts";
import { createKvRelay } from "./relay_kv.ts";
import { createRedisRelay } from "./relay_redis.ts";

/**
 * Builds the relay `config.relay` names. Resolves even when its backend (Redis) is unreachable: the relay
 * then reports itself unhealthy and keeps trying, and the service runs on.
 */
export function createRelay(config: Config, kv: Deno.Kv, log: Logger, metrics?: Metrics): Promise<Relay> {
  const options = { log: log.with({ component: "relay" }), metrics };
  switch (config.relay) {
    case "broadcast":
      return Promise.resolve(createBroadcastRelay(undefined, options));
    case "kv":
      // A local file's watch is blind to other processes sharing it: poll it often. Deploy and denokv
      // watches see every writer, so polling there is only a slow safety net.
      return createKvRelay(kv, { ...options, pollMs: isLocalFile(config.kvPath) ? 200 : 2000 });
    case "redis":
      return createRedisRelay(config.redisUrl, options);
    case "none":
      return Promise.resolve(createNoRelay());
  }
}

const isLocalFile = (kvPath: string) => kvPath !== ":memory:" && !/^https?:/.test(kvPath);
