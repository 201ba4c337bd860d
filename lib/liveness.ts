/**
 * Socket liveness (README "Socket protocol", Liveness): the server pings a socket after
 * `HEARTBEAT_INTERVAL_MS` of silence, and closes 1001 a socket from which nothing at all (no frame, no pong)
 * arrived for exactly `CONNECTION_TIMEOUT_MS`.
 *
 * Deno's `idleTimeout` T (seconds) keeps one timer per socket: after T/2 of silence it pings, after T it closes
 * 1001, and every frame received, pongs included, starts it again. Script can neither send a ping (the op is
 * not exposed to user code in Deno 2.9) nor see a pong, so the close is always Deno's, with T the timeout:
 * exact, and counting pongs. That alone pings at half the timeout. When the heartbeat is shorter, each socket
 * gets its own `[[serverHandleIdleTimeout]]`, the method Deno calls to re-arm that timer on every frame it
 * receives: it re-arms Deno's timer with T set to twice the heartbeat (so the ping comes after one heartbeat
 * of silence), then sets T to what is left of the timeout for the second half, which Deno reads after its
 * ping (so the close still comes at the timeout). A socket that answers is thus pinged every heartbeat, and
 * one that does not gets one ping a heartbeat in and is closed at the timeout. No timer of ours: Deno's own,
 * one per socket, as without this.
 *
 * Those are Deno internals, so they are looked for, not assumed: if either name is missing, or T is not
 * where it should be, the service logs one warning and runs on Deno's own ping at half the timeout
 * (tests/ws_liveness_test.ts tells when an upgrade of Deno changes their behaviour).
 */
import type { Logger } from "./log.ts";

export interface Liveness {
  /** Deno's `idleTimeout` for `Deno.upgradeWebSocket`: the connection timeout, in seconds. */
  readonly idleTimeoutSeconds: number;
  /** Applies the heartbeat to a socket `Deno.upgradeWebSocket` just returned, before it opens. */
  watch(socket: WebSocket): void;
}

/** The symbol of Deno's re-arm method, and ours to put in its place on each socket. */
type Internals = { rearm: symbol; rearmWithHeartbeat: (this: WebSocket) => void };

const REARM = "[[serverHandleIdleTimeout]]";
const IDLE_TIMEOUT = "[[idleTimeout]]";

/**
 * The liveness plan for this isolate's sockets. `prototype` is where Deno's re-arm method is looked for
 * (WebSocket's own prototype; a test passes another to see the fallback).
 */
export function createLiveness(
  heartbeatMs: number,
  timeoutMs: number,
  log: Logger,
  prototype: object = WebSocket.prototype,
): Liveness {
  const idleTimeoutSeconds = timeoutMs / 1000;
  // Deno's own ping at half the timeout already comes within a heartbeat of silence.
  if (heartbeatMs * 2 >= timeoutMs) return { idleTimeoutSeconds, watch() {} };

  /** Set at the first socket: the symbols found, or null once they were looked for in vain. */
  let internals: Internals | null | undefined;
  const untilPing = (2 * heartbeatMs) / 1000;
  const untilCloseAfterPing = (2 * (timeoutMs - heartbeatMs)) / 1000;

  function find(socket: WebSocket): Internals | null {
    const rearm = Object.getOwnPropertySymbols(prototype).find((s) => s.description === REARM);
    const denoRearm = rearm && (prototype as Record<symbol, unknown>)[rearm];
    const idleTimeout = Object.getOwnPropertySymbols(socket).find((s) => s.description === IDLE_TIMEOUT);
    const fields = socket as unknown as Record<symbol, unknown>;
    if (typeof denoRearm === "function" && idleTimeout && fields[idleTimeout] === idleTimeoutSeconds) {
      // One function for every socket (no closure each): Deno calls it with the socket as `this`.
      const rearmWithHeartbeat = function (this: WebSocket) {
        const fields = this as unknown as Record<symbol, unknown>;
        fields[idleTimeout] = untilPing;
        denoRearm.call(this);
        fields[idleTimeout] = untilCloseAfterPing;
      };
      return { rearm: rearm!, rearmWithHeartbeat };
    }
    log.warn("Deno's WebSocket internals are not where expected: sockets are pinged at half the timeout", {
      heartbeatIntervalMs: heartbeatMs,
      pingAfterMs: timeoutMs / 2,
      connectionTimeoutMs: timeoutMs,
    });
    return null;
  }

  return {
    idleTimeoutSeconds,
    watch(socket) {
      if (internals === undefined) internals = find(socket);
      if (internals) {
        (socket as unknown as Record<symbol, unknown>)[internals.rearm] = internals.rearmWithHeartbeat;
      }
    },
  };
}
