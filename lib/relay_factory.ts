/** Picks the relay named by `RELAY`. */
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { createNoRelay, type Relay, type RelayOptions } from "./relay.ts";
import { createBroadcastRelay } from "./relay_broadcast.ts";
import { createKvRelay } from "./relay_kv.ts";
import { withStoreCheck } from "./relay_store.ts";
import { ensureStoreId } from "./store_id.ts";

/**
 * Builds the relay `config.relay` names, its events carrying the store's id (a peer on another store is
 * refused and reported: lib/relay_store.ts). Resolves even when its backend (Redis) is unreachable: the relay
 * then reports itself unhealthy and keeps trying, and the service runs on.
 */
export async function createRelay(
  config: Config,
  kv: Deno.Kv,
  log: Logger,
  metrics?: Metrics,
): Promise<Relay> {
  if (config.relay === "none") return createNoRelay();
  const options = { log: log.with({ component: "relay" }), metrics };
  const storeId = await ensureStoreId(kv);
  return withStoreCheck(await createBackend(config, kv, options), { storeId, log: options.log });
}

async function createBackend(config: Config, kv: Deno.Kv, options: RelayOptions): Promise<Relay> {
  switch (config.relay) {
    case "broadcast":
      return createBroadcastRelay(undefined, options);
    case "kv":
      // A local file's watch is blind to other processes sharing it: poll it often. Deploy and denokv
      // watches see every writer, so polling there is only a slow safety net.
      return createKvRelay(kv, { ...options, pollMs: isLocalFile(config.kvPath) ? 200 : 2000 });
    case "redis": {
      // Loaded only here: the Redis client is megabytes of code and strings that no other relay needs.
      const { createRedisRelay } = await import("./relay_redis.ts");
      return createRedisRelay(config.redisUrl, options);
    }
    case "none":
      return createNoRelay();
  }
}

const isLocalFile = (kvPath: string) => kvPath !== ":memory:" && !/^https?:/.test(kvPath);
