/**
 * BroadcastChannel relay: crosses the workers of `deno serve --parallel` (and isolates, where the platform
 * relays BroadcastChannel between them).
 */
import { createLogger } from "./log.ts";
import type { Relay, RelayEvent, RelayOptions } from "./relay.ts";
import { createRelayHealthTracker } from "./relay_health.ts";

/** Creates a relay on the named BroadcastChannel; `publish` never throws, a failed post is counted. */
export function createBroadcastRelay(
  channelName = "jasaweb-realtime",
  options: RelayOptions = { log: createLogger("error") },
): Relay {
  const channel = new BroadcastChannel(channelName);
  const tracker = createRelayHealthTracker("broadcast", options.log, options.metrics);
  return {
    publish(event: RelayEvent) {
      try {
        channel.postMessage(event);
        tracker.ok("publish");
      } catch (error) {
        tracker.fail("publish", error);
      }
      return Promise.resolve();
    },
    subscribe(handler) {
      channel.onmessage = (message: MessageEvent<RelayEvent>) => {
        try {
          handler(message.data);
        } catch (error) {
          tracker.fail("handler", error);
        }
      };
    },
    health: () => tracker.health(),
    close() {
      channel.close();
      return Promise.resolve();
    },
  };
}
