/**
 * The health of a relay, shared by every relay kind: each failure is counted in
 * `realtime_relay_errors_total{relay,part}` and shows in `health()`; the first failure of a part and its
 * recovery are logged, so an outage is loud without writing a line per reconnect attempt.
 */
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { RelayHealth } from "./relay.ts";

export interface RelayHealthTracker {
  /** Records a failure of one part of the relay (`publish`, `watch`, `subscriber`…); that part is down. */
  fail(part: string, error: unknown): void;
  /** Marks a part as not ready yet (connecting at start-up): unhealthy, but neither counted nor logged. */
  starting(part: string, detail: string): void;
  /** Records that the part works (again); logs the recovery if it had failed. */
  ok(part: string): void;
  /** Healthy while no part is down; the detail names the parts down and the last error. */
  health(): RelayHealth;
}

/** Creates the tracker for the relay named `name`. */
export function createRelayHealthTracker(
  name: string,
  log: Logger,
  metrics?: Metrics,
): RelayHealthTracker {
  const down = new Map<string, string>();
  /** Parts down because they failed, not merely because they have not connected yet. */
  const failed = new Set<string>();
  let errors = 0;
  return {
    fail(part, error) {
      errors++;
      metrics?.inc("realtime_relay_errors_total", { relay: name, part });
      const message = error instanceof Error ? error.message || error.name : String(error);
      if (!failed.has(part)) {
        log.error("Relay failing; notifications to other isolates may be late until it recovers", {
          relay: name,
          part,
          error: message,
        });
      }
      down.set(part, message);
      failed.add(part);
    },
    starting(part, detail) {
      down.set(part, detail);
    },
    ok(part) {
      down.delete(part);
      if (failed.delete(part)) log.warn("Relay recovered", { relay: name, part });
    },
    health() {
      if (down.size === 0) return { name, healthy: true, errors };
      const detail = [...down].map(([part, message]) => `${part}: ${message}`).join("; ");
      return { name, healthy: false, errors, detail };
    },
  };
}
