/**
 * The store check of every relay: events go out stamped with this store's id, and an event from a peer on
 * another store is dropped and reported. Two processes that share a relay but not a store number the same
 * streams from 1 each; without this, each would take the other's notifications for duplicates and drop them
 * in silence. With it, the first event from such a peer logs an error naming both stores, and the relay
 * reports the misconfiguration in its health (the `/health` relay check fails) while such a peer is heard.
 */
import type { Logger } from "./log.ts";
import type { Relay, RelayEvent } from "./relay.ts";

/** How long after the last event from another store the relay still reports the misconfiguration. */
export const FOREIGN_STORE_MEMORY_MS = 5 * 60_000;
/** Foreign stores remembered (and logged) at most: a bound, whatever the peers do. */
const MAX_FOREIGN_STORES = 64;

export interface StoreCheckOptions {
  storeId: string;
  log: Logger;
  now?: () => number;
}

/**
 * Wraps a relay so that its events carry `storeId` and events of another store never reach the handler.
 * Events without a store id (from a version before the check, during a rolling upgrade) pass unchecked.
 */
export function withStoreCheck(inner: Relay, options: StoreCheckOptions): Relay {
  const { storeId, log } = options;
  const now = options.now ?? Date.now;
  /** Foreign store id → the isolate first heard from it, and when it was last heard. */
  const foreign = new Map<string, { isolateId: string; lastHeard: number }>();

  function accept(event: RelayEvent): boolean {
    const peerStoreId = event.store;
    if (peerStoreId === undefined || peerStoreId === storeId) return true;
    const known = foreign.get(peerStoreId);
    if (known) known.lastHeard = now();
    else if (foreign.size < MAX_FOREIGN_STORES) {
      foreign.set(peerStoreId, { isolateId: event.origin, lastHeard: now() });
      log.error(
        "Relay peer on another store: its events are ignored. Every process sharing a relay must share " +
          "one store (KV_PATH), or each drops the other's notifications as duplicates",
        { storeId, peerStoreId: String(peerStoreId).slice(0, 64), peerIsolateId: event.origin },
      );
    }
    return false;
  }

  /** The misconfiguration while a foreign store was heard recently, naming both stores. */
  function misconfiguration(): string | undefined {
    const recent = [...foreign].filter(([, peer]) => now() - peer.lastHeard <= FOREIGN_STORE_MEMORY_MS);
    if (recent.length === 0) return undefined;
    const peers = recent.map(([id, peer]) => `store ${id} (isolate ${peer.isolateId})`).join(", ");
    return `peer on another store: heard ${peers}; this process uses store ${storeId}`;
  }

  return {
    publish: (event) => inner.publish({ ...event, store: storeId }),
    subscribe(handler) {
      inner.subscribe((event) => {
        if (accept(event)) handler(event);
      });
    },
    health() {
      const health = inner.health();
      const problem = misconfiguration();
      if (!problem) return health;
      const detail = health.detail ? `${problem}; ${health.detail}` : problem;
      return { ...health, healthy: false, misconfiguration: problem, detail };
    },
    close: () => inner.close(),
  };
}
