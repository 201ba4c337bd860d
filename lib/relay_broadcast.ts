/**
 * BroadcastChannel relay: crosses the workers of `deno serve --parallel` (and isolates, where the platform
 * relays BroadcastChannel between them).
 */
import type { Relay, RelayEvent } from "./relay.ts";

/** Creates a relay on the named BroadcastChannel. */
export function createBroadcastRelay(channelName = "jasaweb-realtime"): Relay {
  const channel = new BroadcastChannel(channelName);
  let failures = 0;
  let lastError: string | undefined;
  return {
    publish(event: RelayEvent) {
      try {
        channel.postMessage(event);
      } catch (error) {
        failures++;
        lastError = String(error);
      }
      return Promise.resolve();
    },
    subscribe(handler) {
      channel.onmessage = (message: MessageEvent<RelayEvent>) => handler(message.data);
    },
    health: () => ({
      name: "broadcast",
      healthy: true,
      detail: failures ? `${failures} failed posts, last: ${lastError}` : undefined,
    }),
    close() {
      channel.close();
      return Promise.resolve();
    },
  };
}
