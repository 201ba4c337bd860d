/**
 * Admission control: whether a socket may open, decided before the upgrade (SPEC §5). A valid socket token,
 * then room under this isolate's MAX_CONNECTIONS, then a place under its user's and its address's limits
 * (lib/connection_places.ts). A refused socket is still upgraded, and learns why from its close code.
 *
 * An admitted socket counts against MAX_CONNECTIONS from `admit` on: until `attach` (it opened) or `abandon`
 * (it closed before opening, or was still not open at its handshake's deadline) it is among the admitting,
 * afterwards in the hub. A client that drops during the handshake gets neither `open` nor `close` from Deno, so
 * `expire`, once a second, gives such admissions back: one timer for all rather than one per handshake.
 */
import { AuthError, type SocketIdentity } from "./auth.ts";
import type { CloseCause } from "./protocol.ts";
import type { ConnectionPlaces } from "./connection_places.ts";
import type { Metrics } from "./metrics.ts";
import type { SocketTokens } from "./socket_tokens.ts";

/** Longest an admitted socket may take to open before its admission is given back. */
const MAX_HANDSHAKE_MS = 10_000;

/** Where a socket comes from, as read from its upgrade request. */
export interface SocketClient {
  /** Its address as the per-IP limit counts it (an IPv6 client is its /64). */
  clientIp: string;
  userAgent: string;
}

/** The verdict on one socket, with everything its session needs to know of it. */
export interface Admission extends SocketClient {
  connectionId: string;
  identity?: SocketIdentity;
  /** Why the socket will be closed right after the upgrade, if it will be. */
  refusal?: CloseCause;
}

/** A socket that was admitted: it has an identity and no refusal. */
export type AdmittedSocket = Admission & { identity: SocketIdentity };

export interface AdmissionOptions {
  maxConnections: number;
  /** The handshake's deadline is this, at most MAX_HANDSHAKE_MS. */
  connectionTimeoutMs: number;
  socketTokens: Pick<SocketTokens, "verify">;
  places: Pick<ConnectionPlaces, "claim" | "release">;
  /** Sockets open on this isolate. */
  openCount: () => number;
  metrics: Metrics;
  now: () => number;
}

/** Creates this isolate's admission control. */
export function createAdmissionControl(options: AdmissionOptions) {
  const { places, metrics, now } = options;
  const handshakeLimitMs = Math.min(options.connectionTimeoutMs, MAX_HANDSHAKE_MS);
  /** Admitted sockets not yet open, with the deadline by which they must open. */
  const admitting = new Map<string, number>();
  let stopped = false;

  /** Checks a socket token and the limits; an admitted socket holds its places until `release` or `abandon`. */
  async function admit(token: string | undefined, client: SocketClient): Promise<Admission> {
    const connectionId = crypto.randomUUID();
    let identity: SocketIdentity;
    try {
      identity = await options.socketTokens.verify(token);
    } catch (error) {
      metrics.inc("realtime_auth_failures_total", {
        reason: error instanceof AuthError ? error.reason : "invalid",
      });
      return { connectionId, ...client, refusal: "invalidAuth" };
    }
    const admitted = { connectionId, ...client, identity };
    if (stopped) return { ...admitted, refusal: "shuttingDown" };
    if (options.openCount() + admitting.size >= options.maxConnections) {
      metrics.inc("realtime_rate_limited_total", { kind: "isolate" });
      return { ...admitted, refusal: "tryAgainLater" };
    }
    const deadline = now() + handshakeLimitMs;
    admitting.set(connectionId, deadline);
    const claim = await places.claim(connectionId, identity.userId, client.clientIp, deadline);
    if (claim === "ok") return admitted;
    admitting.delete(connectionId);
    if (claim === "busy") {
      // The places could not be decided before the handshake's deadline (KV contended or failing).
      metrics.inc("realtime_rate_limited_total", { kind: "places_busy" });
      return { ...admitted, refusal: "tryAgainLater" };
    }
    metrics.inc("realtime_rate_limited_total", { kind: claim === "user_limit" ? "user" : "ip" });
    return { ...admitted, refusal: "connectionLimit" };
  }

  /** Gives back the places of a socket that was admitted but never opened (once, whoever calls first). */
  function abandon(connectionId: string): void {
    if (!admitting.delete(connectionId)) return;
    places.release(connectionId);
  }

  return {
    admit,

    /**
     * Takes an admitted socket that just opened out of the admitting: true when it may run, false when its
     * admission was given back meanwhile (it took longer than its deadline), so its places may be taken.
     */
    attach: (connectionId: string): boolean => admitting.delete(connectionId),

    abandon,

    /** Gives back the places of a socket that ran and closed. */
    release(connectionId: string): void {
      places.release(connectionId);
    },

    /** Gives back every admission whose handshake did not finish by `at`. */
    expire(at: number): void {
      for (const [connectionId, deadline] of admitting) if (deadline <= at) abandon(connectionId);
    },

    /** Gives back every admission still waiting to open (its places were taken back: see `onLost`). */
    abandonAll(): void {
      for (const connectionId of [...admitting.keys()]) abandon(connectionId);
    },

    /** Refuses every later socket 1001 (shutdown). */
    stop(): void {
      stopped = true;
    },
  };
}

export type AdmissionControl = ReturnType<typeof createAdmissionControl>;
