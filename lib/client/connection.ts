/**
 * The client's socket link: opens a socket with a fresh token, reconnects with exponential back-off and full
 * jitter, spots dead links with app-level pings (browsers cannot see protocol pings), pauses while the network
 * is offline, and follows the close code's reconnect flag from the protocol module. What the frames mean is
 * the client's business, not the link's.
 */
import { type ReadonlySignal, signal } from "@preact/signals";
import { CLIENT_CLOSE, type CloseCode, reconnectsAfter, SUBPROTOCOL } from "../protocol.ts";
import type { ClientEnvironment } from "./environment.ts";
import { messageOf } from "./tokens.ts";

export type ConnectionStatus = "connected" | "connecting" | "offline";

/** A frame as it comes off the socket, before the client looks at its type. */
export interface IncomingFrame {
  type?: unknown;
  data?: unknown;
  [field: string]: unknown;
}

export interface LinkTiming {
  /** First back-off step, doubled per failed attempt. */
  backoffBaseMs: number;
  /** Back-off cap. */
  backoffMaxMs: number;
  /** Silence after which the client pings. */
  pingIntervalMs: number;
  /** Silence after a ping that counts as a dead link. */
  pongTimeoutMs: number;
}

export interface LinkHooks {
  /** A fresh socket token, and the URL to connect to with it (null if none is known). */
  grant(): Promise<{ token: string; url: string | null }>;
  /** Each frame from the server; a `welcome` comes here before the link counts as connected. */
  onFrame(frame: IncomingFrame): void;
  /** Whatever belonged to the socket that just went (its token refresh, a resume in flight) ends. */
  onDrop(): void;
  onError(message: string): void;
}

/** The full-jitter back-off of attempt `n` (0-based): uniform in [0, min(max, base·2ⁿ)). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

/**
 * Creates a link, idle until `connect()`. It keeps one socket at most, reports its state in `status`
 * ("connected" once welcomed), and stays down after a close whose code says not to reconnect (1000, 4500)
 * or after `close()`, until `connect()` again.
 */
export function createLink(env: ClientEnvironment, timing: LinkTiming, hooks: LinkHooks) {
  const status = signal<ConnectionStatus>("offline");
  let ws: WebSocket | null = null;
  let welcomed = false;
  /** Consecutive attempts that ended without a welcome. */
  let failures = 0;
  let stopped = false;
  /** A token is being fetched for a new socket. */
  let opening = false;
  let frameCounter = 0;
  const timers = { reconnect: null as unknown, ping: null as unknown, pong: null as unknown };

  function clearTimer(name: keyof typeof timers) {
    if (timers[name] !== null) env.clearTimeout(timers[name]);
    timers[name] = null;
  }

  function send(frame: Record<string, unknown>): boolean {
    if (!ws || ws.readyState !== 1 /* OPEN */) return false;
    ws.send(JSON.stringify({ ...frame, id: `c${++frameCounter}` }));
    return true;
  }

  /** "Connecting…" on the first try after being connected (or at start); "Offline" once a try has failed. */
  function waitingStatus(): ConnectionStatus {
    return failures > 0 || !env.network.isOnline() ? "offline" : "connecting";
  }

  function scheduleReconnect() {
    clearTimer("reconnect");
    if (stopped || !env.network.isOnline()) {
      status.value = "offline";
      return;
    }
    status.value = waitingStatus();
    const delay = backoffDelay(failures, timing.backoffBaseMs, timing.backoffMaxMs, env.random);
    timers.reconnect = env.setTimeout(() => {
      timers.reconnect = null;
      open();
    }, delay);
  }

  function failed(error: unknown) {
    hooks.onError(messageOf(error));
    failures++;
    scheduleReconnect();
  }

  async function open() {
    if (stopped || ws || opening) return;
    if (!env.network.isOnline()) {
      status.value = "offline";
      return;
    }
    status.value = waitingStatus();
    let grant: { token: string; url: string | null };
    opening = true;
    try {
      grant = await hooks.grant();
    } catch (error) {
      return failed(error);
    } finally {
      opening = false;
    }
    if (stopped || ws) return;
    if (!grant.url) {
      hooks.onError("The token grant names no connectionUrl and no url option was given");
      status.value = "offline";
      return;
    }
    let socket: WebSocket;
    try {
      socket = new env.WebSocket(grant.url, [SUBPROTOCOL, grant.token]);
    } catch (error) {
      return failed(error);
    }
    ws = socket;
    welcomed = false;
    socket.onmessage = (event) => {
      if (ws === socket) receive(event.data);
    };
    socket.onclose = (event) => {
      if (ws === socket) closed(event.code, event.reason);
    };
    socket.onerror = () => {
      if (ws === socket) hooks.onError("Connection error");
    };
  }

  function dropSocket({ code, reason }: Pick<CloseCode, "code" | "reason">) {
    const socket = ws;
    ws = null;
    welcomed = false;
    clearTimer("ping");
    clearTimer("pong");
    hooks.onDrop();
    try {
      socket?.close(code, reason);
    } catch {
      // Already closing.
    }
  }

  function closed(code: number, reason: string) {
    const wasWelcomed = welcomed;
    dropSocket({ code, reason });
    if (reason) hooks.onError(`Closed ${code}: ${reason}`);
    if (!reconnectsAfter(code)) {
      stopped = true;
      clearTimer("reconnect");
      status.value = "offline";
      return;
    }
    if (wasWelcomed) failures = 0;
    else failures++;
    scheduleReconnect();
  }

  /** Any frame proves the link alive; the next ping goes out a full interval later. */
  function heardFromServer() {
    clearTimer("pong");
    clearTimer("ping");
    if (!welcomed) return;
    timers.ping = env.setTimeout(() => {
      timers.ping = null;
      if (!send({ type: "ping" })) return;
      timers.pong = env.setTimeout(() => {
        timers.pong = null;
        // No answer: the link is dead even if the browser has not noticed. Start over.
        hooks.onError("No answer to ping");
        closed(CLIENT_CLOSE.deadLink.code, CLIENT_CLOSE.deadLink.reason);
      }, timing.pongTimeoutMs);
    }, timing.pingIntervalMs);
  }

  function receive(raw: unknown) {
    if (typeof raw !== "string") return;
    let frame: IncomingFrame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    heardFromServer();
    if (typeof frame !== "object" || frame === null) return;
    if (frame.type !== "welcome") return hooks.onFrame(frame);
    welcomed = true;
    failures = 0;
    hooks.onFrame(frame);
    status.value = "connected";
    heardFromServer();
  }

  const unsubscribeNetwork = env.network.subscribe((online) => {
    if (stopped) return;
    if (online) {
      // The network is back: try at once rather than waiting out the back-off.
      failures = 0;
      clearTimer("reconnect");
      open();
    } else {
      clearTimer("reconnect");
      dropSocket(CLIENT_CLOSE.offline);
      status.value = "offline";
    }
  });

  return {
    status: status as ReadonlySignal<ConnectionStatus>,
    /** Sends a frame with a fresh `id` if the socket is open; false if it is not. */
    send,
    /** Connects (again) unless already connected or connecting. */
    connect() {
      stopped = false;
      clearTimer("reconnect");
      open();
    },
    /** Closes for good (1000): no reconnect until `connect()`. */
    close() {
      stopped = true;
      clearTimer("reconnect");
      dropSocket(CLIENT_CLOSE.closed);
      status.value = "offline";
    },
    /** Stops listening to the network's online state. */
    dispose: unsubscribeNetwork,
  };
}
