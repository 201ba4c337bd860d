/**
 * The life of one socket, in the order it happens. Before the upgrade, lib/admission.ts admits it or not: a
 * socket token, room under MAX_CONNECTIONS, a place under its user's and its address's limits. Then, here:
 *
 * 1. Open. A refused socket is closed with its refusal's code. An admitted one that took longer to open than
 *    its handshake's deadline has lost its admission (and maybe its place) meanwhile: closed 1013. One that
 *    closes before it opens gives its admission back.
 * 2. Register. The hub holds it before anything is read, so that nothing published from now on can pass it
 *    by; what the hub hands it is held back until step 4. Its record is queued for KV.
 * 3. Welcome. The heads of its streams are read and sent in the `welcome` frame.
 * 4. Release. The hub starts its cursor of each stream new to this isolate at those heads; what was held back
 *    goes out in order, less what the heads already cover.
 * 5. Frames, until it closes (lib/socket_session.ts).
 * 6. Close, once, whatever closed it: out of the hub, its places given back, its record deleted.
 *
 * Everything a socket needs comes in one deps object, made once per isolate and shared by every session.
 */
import type { SocketIdentity } from "./auth.ts";
import type { Admission, AdmissionControl, AdmittedSocket } from "./admission.ts";
import { CLOSE } from "./protocol.ts";
import type { Config } from "./config.ts";
import type { ConnectionRegistry } from "./connections.ts";
import type { AckOutcome } from "./deliveries.ts";
import type { Hub } from "./hub.ts";
import type { Stream } from "./keys.ts";
import type { Liveness } from "./liveness.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { StoredNotification } from "./notifications.ts";
import type { DomainEvent } from "./schemas.ts";
import { type SocketSession, startSession } from "./socket_session.ts";
import type { ReplaySource } from "./socket_replay.ts";

/** What every socket of an isolate uses: made once per isolate, referenced (never copied) by each session. */
export interface SocketDeps {
  /** The limits a session enforces and its welcome announces. */
  config: Pick<
    Config,
    "messageSizeLimit" | "messageRatePerMinute" | "heartbeatIntervalMs" | "connectionTimeoutMs" | "bufferSize"
  >;
  hub: Hub<SocketSession>;
  admission: Pick<AdmissionControl, "attach" | "abandon" | "release">;
  records: Pick<ConnectionRegistry, "save" | "refresh" | "remove">;
  /** Pings and closes silent sockets (Deno's idle timeout). */
  liveness: Pick<Liveness, "watch">;
  /** What the welcome and a `resume` read: stream heads, and stored notifications a page at a time. */
  store: ReplaySource;
  /** Records deliveries of the user's own notifications among `ids`; says what became of the others. */
  acknowledge(userId: string, streams: readonly Stream[], ids: string[]): Promise<AckOutcome>;
  /** Stores and delivers the domain event a client's frame publishes. */
  publish(event: DomainEvent): Promise<{ notifications: StoredNotification[] }>;
  /** Verifies a fresh socket token (the `auth` frame). */
  verifyToken(token: string): Promise<SocketIdentity>;
  metrics: Metrics;
  /** The service's logger; a session adds its connection id to what it logs. */
  log: Logger;
  now: () => number;
}

/** Runs the sockets of this isolate through their lives. */
export function createSocketLifecycle(deps: SocketDeps) {
  const { hub, records, metrics, log } = deps;

  /** Steps 2 to 4, for a socket that opened while its admission held. */
  function begin(ws: WebSocket, admitted: AdmittedSocket) {
    // The session takes the socket's events over, and holds live notifications back until step 4.
    const session = startSession(ws, deps, admitted, end);
    // 2. Register.
    hub.add(session);
    metrics.inc("realtime_connections_opened_total");
    records.save([session]).catch((error) =>
      log.warn("Record not saved", { connectionId: session.id, error })
    );
    log.info("Socket open", { connectionId: session.id, userId: session.userId, role: session.role });
    // 3. Welcome.
    session.welcome().then((heads) => {
      // 4. Release.
      hub.notePositions(heads);
      session.releaseHeld();
    }).catch((error) => session.welcomeFailed(error));
  }

  /** Step 6: called by the session once, whatever closed it. */
  function end(session: SocketSession) {
    hub.remove(session);
    deps.admission.release(session.id);
    records.remove(session.id).catch((error) =>
      log.warn("Record not deleted", { connectionId: session.id, error })
    );
    log.info("Socket closed", { connectionId: session.id });
  }

  return {
    /**
     * Serves a socket `Deno.upgradeWebSocket` just returned, admitted or refused, from step 1 to its close.
     * Call it before returning the upgrade's response.
     */
    serve(ws: WebSocket, admission: Admission) {
      // Pings every heartbeat of silence, closes 1001 at CONNECTION_TIMEOUT_MS (lib/liveness.ts).
      deps.liveness.watch(ws);
      ws.onopen = () => {
        // 1. Open.
        if (admission.refusal || !admission.identity) {
          const { code, reason } = CLOSE[admission.refusal ?? "invalidAuth"];
          ws.close(code, reason);
          return;
        }
        // From here the session has the socket's events, its close included: these handlers, and what they
        // hold, are not needed again.
        ws.onopen = null;
        ws.onclose = null;
        if (!deps.admission.attach(admission.connectionId)) {
          // Too slow to open: its admission was given back, and its place may be someone else's by now.
          ws.close(CLOSE.tryAgainLater.code, CLOSE.tryAgainLater.reason);
          return;
        }
        begin(ws, { ...admission, identity: admission.identity });
      };
      ws.onclose = () => deps.admission.abandon(admission.connectionId);
    },

    /** Closes every socket whose token has expired by `at` (1008 `Token expired`). */
    closeExpired(at: number) {
      for (const session of hub.connections()) {
        if (session.identity.expiresAt <= at) session.closeWith("tokenExpired");
      }
    },

    /** Rewrites the records of this isolate's sockets that changed or near their expiry. */
    refreshRecords(): Promise<void> {
      return records.refresh(hub.connections());
    },
  };
}

export type SocketLifecycle = ReturnType<typeof createSocketLifecycle>;
