/**
 * Redis relay, for self-hosted deployments of several processes or machines: Redis pub/sub on one channel,
 * through the npm `redis` client (one connection publishes, a second one subscribes, as pub/sub requires).
 *
 * Redis pub/sub is fire-and-forget: while Redis is away events are dropped, not queued (the offline queue is
 * off, so publishing fails at once instead of piling up). The clients reconnect by themselves and the
 * subscriber re-subscribes; the hub fills what was dropped from the store on the next notification, and
 * clients resume.
 */
import { createClient } from "redis";
import type { Relay, RelayEvent, RelayOptions } from "./relay.ts";
import { createRelayHealthTracker } from "./relay_health.ts";

export interface RedisRelayOptions extends RelayOptions {
  channel?: string;
  /** Longest pause between reconnect attempts. */
  maxReconnectDelayMs?: number;
}

/**
 * Creates a relay over the Redis at `url`. Returns at once, connected or not: while Redis is unreachable the
 * relay reports itself unhealthy, counts every failure, keeps reconnecting, and `publish` never throws.
 */
export function createRedisRelay(url: string, options: RedisRelayOptions): Promise<Relay> {
  const channel = options.channel ?? "jasaweb-realtime";
  const maxDelay = options.maxReconnectDelayMs ?? 2000;
  const tracker = createRelayHealthTracker("redis", options.log, options.metrics);
  let handler: ((event: RelayEvent) => void) | undefined;
  let closed = false;

  const publisher = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, maxDelay),
    },
  });
  const subscriber = publisher.duplicate();
  for (const [part, client] of [["publisher", publisher], ["subscriber", subscriber]] as const) {
    // Without an error listener the client's errors would be thrown as uncaught: this keeps the process up.
    client.on("error", (error) => tracker.fail(part, error));
    client.on("ready", () => tracker.ok(part));
  }
  // Both count as down until their first connection, so a Redis missing at start-up shows at once.
  tracker.starting("publisher", `connecting to ${redactedUrl(url)}`);
  tracker.starting("subscriber", `connecting to ${redactedUrl(url)}`);

  function onMessage(message: string) {
    let event: RelayEvent;
    try {
      event = JSON.parse(message);
    } catch (error) {
      tracker.fail("decode", error);
      return;
    }
    try {
      handler?.(event);
    } catch (error) {
      tracker.fail("handler", error);
    }
  }

  publisher.connect().catch((error) => closed || tracker.fail("publisher", error));
  subscriber.connect()
    .then(() => subscriber.subscribe(channel, onMessage))
    .catch((error) => closed || tracker.fail("subscriber", error));

  return Promise.resolve({
    async publish(event) {
      if (closed) return;
      try {
        await publisher.publish(channel, JSON.stringify(event));
      } catch (error) {
        tracker.fail("publisher", error);
      }
    },
    subscribe(h) {
      handler = h;
    },
    health: () => tracker.health(),
    close() {
      closed = true;
      // destroy() drops any reconnect timer and socket at once; nothing is left pending.
      for (const client of [publisher, subscriber]) {
        try {
          client.destroy();
        } catch {
          // Already closed.
        }
      }
      return Promise.resolve();
    },
  });
}

/** The URL without its password, for logs and health details. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "redis";
  }
}
