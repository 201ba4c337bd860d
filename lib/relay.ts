/**
 * The relay carries events between isolates. It may drop, delay or duplicate: notifications carry their
 * `seq`, and the hub drops duplicates and fills gaps from the store, so a relay only has to be fast.
 */
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { StoredNotification } from "./notifications.ts";
import type { StreamHead } from "./stream_heads.ts";

export type RelayEvent =
  | {
    kind: "notification";
    notification: StoredNotification;
    /** Its stream's head after the commit that stored it, so that other isolates append without a read. */
    head?: StreamHead;
    /** Epoch ms at which the service accepted the event (delivery latency is measured from it). */
    acceptedAt: number;
    /** Epoch ms at which it was handed to the relay (relay lag is measured from it). */
    sentAt: number;
    origin: string;
    /** The id of the store the event was written to (lib/relay_store.ts stamps and checks it). */
    store?: string;
  }
  | { kind: "disconnect"; connectionId: string; sentAt: number; origin: string; store?: string };

export interface RelayHealth {
  name: string;
  healthy: boolean;
  /** What is failing, while unhealthy. */
  detail?: string;
  /** Failures since start (also counted in `realtime_relay_errors_total`). */
  errors?: number;
  /** A misconfiguration no reconnect repairs (a peer on another store): the health check fails with it. */
  misconfiguration?: string;
}

/** What every relay is built with: where to log its troubles and where to count them. */
export interface RelayOptions {
  log: Logger;
  metrics?: Metrics;
}

export interface Relay {
  /** Sends an event to every other isolate. Never throws: a failure is counted and reported in health(). */
  publish(event: RelayEvent): Promise<void>;
  /** Registers the handler for events from other isolates (own events may come back; callers ignore them). */
  subscribe(handler: (event: RelayEvent) => void): void;
  health(): RelayHealth;
  close(): Promise<void>;
}

/** A relay for a single isolate: nothing to carry. */
export function createNoRelay(): Relay {
  return {
    publish: () => Promise.resolve(),
    subscribe() {},
    health: () => ({ name: "none", healthy: true }),
    close: () => Promise.resolve(),
  };
}
