/**
 * Relays for tests: an in-memory bus joining in-process services, and a wrapper that drops, duplicates and
 * delays on purpose, to prove that delivery does not depend on the relay being reliable.
 */
import type { Relay, RelayEvent } from "../../lib/relay.ts";

/** `count` relays joined by an in-memory bus: each publish reaches the others on a later task. */
export function createBusRelays(count: number): Relay[] {
  const handlers: (((event: RelayEvent) => void) | undefined)[] = new Array(count);
  const pending = new Set<Promise<void>>();
  return Array.from({ length: count }, (_, me): Relay => ({
    publish(event) {
      // A structured clone, as a real relay would hand over a copy.
      const copy = structuredClone(event);
      const hop = new Promise<void>((resolve) =>
        setTimeout(() => {
          handlers.forEach((h, i) => i !== me && h?.(copy));
          resolve();
        }, 0)
      );
      pending.add(hop);
      hop.then(() => pending.delete(hop));
      return Promise.resolve();
    },
    subscribe(handler) {
      handlers[me] = handler;
    },
    health: () => ({ name: "bus", healthy: true }),
    async close() {
      handlers[me] = undefined;
      await Promise.all(pending);
    },
  }));
}

export interface FaultPlan {
  /** Drop the n-th notification published (0-based). */
  drop(n: number): boolean;
  /** Publish it twice. */
  duplicate(n: number): boolean;
  /** Hold it back this many ms (0: none), so later ones overtake it. */
  delayMs(n: number): number;
}

export interface FaultyRelay extends Relay {
  /** Stops injecting faults: from now on every event goes through once, at once. */
  heal(): void;
  readonly stats: { dropped: number; duplicated: number; delayed: number };
}

/** Wraps a relay so that it drops, duplicates and delays notification events as `plan` says. */
export function withFaults(inner: Relay, plan: FaultPlan): FaultyRelay {
  let n = 0;
  let healed = false;
  const stats = { dropped: 0, duplicated: 0, delayed: 0 };
  const delayed = new Set<Promise<void>>();
  return {
    stats,
    heal() {
      healed = true;
    },
    async publish(event) {
      if (healed || event.kind !== "notification") return await inner.publish(event);
      const i = n++;
      if (plan.drop(i)) {
        stats.dropped++;
        return;
      }
      const copies = plan.duplicate(i) ? 2 : 1;
      if (copies === 2) stats.duplicated++;
      const ms = plan.delayMs(i);
      if (ms > 0) {
        stats.delayed++;
        const later = new Promise<void>((resolve) => setTimeout(resolve, ms)).then(async () => {
          for (let c = 0; c < copies; c++) await inner.publish(event);
        });
        delayed.add(later);
        later.then(() => delayed.delete(later));
        return;
      }
      for (let c = 0; c < copies; c++) await inner.publish(event);
    },
    subscribe: (handler) => inner.subscribe(handler),
    health: () => inner.health(),
    async close() {
      await Promise.all(delayed);
      await inner.close();
    },
  };
}
