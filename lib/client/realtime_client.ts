/**
 * The browser client of the socket protocol (README "Socket protocol", `lib/protocol.ts`), served bundled as
 * `/client.js` and importable from Deno. It fetches socket tokens, connects with `["realtime.v1", token]`,
 * reconnects with exponential back-off and full jitter unless the close code says not to, refreshes its token
 * over the socket before it expires, pings to spot dead links, and resumes from its per-stream positions after
 * every reconnect and on any `seq` gap, so that nothing is lost or shown twice. Its state is a set of Preact
 * signals.
 *
 * The parts: `connection.ts` (the socket, back-off, pings), `tokens.ts` (the token and its refresh),
 * `stream_sync.ts` (positions and resumes), `inbox.ts` (the notifications and the unread count). Everything that
 * touches the outside world (clock, timers, randomness, WebSocket, fetch, the network's online state) is
 * injected (`environment.ts`), so tests can drive it with a fake clock and fake sockets. This folder imports
 * nothing from the server but the protocol module.
 */
import { computed, type ReadonlySignal, signal } from "@preact/signals";
import {
  type ControlFrame,
  type ControlFrameType,
  isControlFrameType,
  type NotificationFrame,
  type NotificationType,
  type SubscriptionType,
} from "../protocol.ts";
import { type ConnectionStatus, createLink, type IncomingFrame } from "./connection.ts";
import { browserEnvironment, type ClientEnvironment } from "./environment.ts";
import { type ClientNotification, createInbox } from "./inbox.ts";
import { createStreamSync } from "./stream_sync.ts";
import { createTokenKeeper, type TokenGrant, type TokenSource } from "./tokens.ts";

export type {
  ClientEnvironment,
  ClientNotification,
  ConnectionStatus,
  ControlFrame,
  NotificationFrame,
  NotificationType,
  SubscriptionType,
  TokenGrant,
};

export interface ClientOptions extends TokenSource {
  /** Base of the HTTP API (`/api/notifications`); derived from the socket URL when absent. */
  apiUrl?: string;
  /** Notification types to receive (all when absent); an admin may add `metrics` for the metrics frames. */
  types?: SubscriptionType[];
  /** First back-off step, doubled per failed attempt. Default 1000 ms. */
  backoffBaseMs?: number;
  /** Back-off cap. Default 30 000 ms. */
  backoffMaxMs?: number;
  /** App-level ping interval. Default 20 000 ms. */
  pingIntervalMs?: number;
  /** Silence after a ping that counts as a dead link. Default 10 000 ms. */
  pongTimeoutMs?: number;
  /** Notifications kept in `notifications`. Default 50. */
  keep?: number;
  /** Connect at once (default) or wait for `connect()`. */
  autoConnect?: boolean;
  env?: Partial<ClientEnvironment>;
}

/** Creates a client; it connects at once unless `autoConnect` is false. */
export function createRealtimeClient(options: ClientOptions) {
  const env: ClientEnvironment = { ...browserEnvironment(), ...options.env };
  const lastError = signal<string | null>(null);
  const onError = (message: string) => (lastError.value = message);
  const notificationListeners = new Set<(frame: NotificationFrame) => void>();
  const controlListeners = new Map<ControlFrameType, Set<(frame: ControlFrame) => void>>();
  let types = options.types ? new Set(options.types) : null;

  const tokens = createTokenKeeper(options, env, {
    sendAuth: (token) => link.send({ type: "auth", data: { token } }),
    onError,
  });
  const sync = createStreamSync((positions) => link.send({ type: "resume", data: { positions } }));
  const inbox = createInbox({ keep: options.keep ?? 50, apiUrl: options.apiUrl, tokens, env, onError });
  const link = createLink(env, {
    backoffBaseMs: options.backoffBaseMs ?? 1000,
    backoffMaxMs: options.backoffMaxMs ?? 30_000,
    pingIntervalMs: options.pingIntervalMs ?? 20_000,
    pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
  }, {
    grant: async () => ({ token: await tokens.renew(), url: tokens.connectionUrl() }),
    onFrame: handleFrame,
    onDrop() {
      tokens.stopRefresh();
      sync.dropped();
    },
    onError,
  });

  function handleControl(frame: ControlFrame) {
    switch (frame.type) {
      case "welcome":
        lastError.value = null;
        tokens.refreshBefore(frame.data.expiresAt);
        if (types) link.send({ type: "subscribe", data: { types: [...types] } });
        sync.welcomed(frame.data.positions);
        return;
      case "auth_ok":
        return tokens.refreshBefore(frame.data.expiresAt);
      case "resumed":
        return sync.resumed(frame.data?.positions ?? {});
      case "error":
        lastError.value = String(frame.data?.message ?? "Server error");
        return;
    }
  }

  function handleNotification(frame: NotificationFrame) {
    if (!sync.accept(frame.stream, frame.seq)) return;
    inbox.add(frame);
    for (const listener of notificationListeners) listener(frame);
  }

  function handleFrame(frame: IncomingFrame) {
    if (isControlFrameType(frame.type)) {
      const control = frame as ControlFrame;
      handleControl(control);
      for (const listener of controlListeners.get(control.type) ?? []) listener(control);
      return;
    }
    // Only stored notifications carry a position; the welcome's "Connected" announcement does not.
    if (typeof frame.seq === "number" && typeof frame.stream === "string") {
      handleNotification(frame as unknown as NotificationFrame);
    }
  }

  const client = {
    status: link.status,
    connected: computed(() => link.status.value === "connected"),
    notifications: inbox.notifications,
    unreadCount: inbox.unreadCount,
    lastError: lastError as ReadonlySignal<string | null>,

    /** Connects (again) unless already connected or connecting. */
    connect: link.connect,

    /** Closes for good (1000): no reconnect until `connect()`. */
    close: link.close,

    /** Closes and forgets every listener, including the online/offline ones. */
    dispose() {
      link.close();
      link.dispose();
      notificationListeners.clear();
      controlListeners.clear();
    },

    /** The per-stream positions the next resume will send. */
    positions: sync.snapshot,

    /** The current socket token (for the notification API as `Authorization: Bearer`). */
    token: tokens.current,

    /** Calls `listener` with each new notification frame (never a duplicate); returns an unsubscribe. */
    onNotification(listener: (frame: NotificationFrame) => void): () => void {
      notificationListeners.add(listener);
      return () => notificationListeners.delete(listener);
    },

    /**
     * Calls `listener` with each control frame of this type (`metrics`, `error`, `welcome`, …) after the
     * client has acted on it; returns an unsubscribe.
     */
    onControl<T extends ControlFrameType>(type: T, listener: (frame: ControlFrame<T>) => void): () => void {
      const listeners = controlListeners.get(type) ?? new Set();
      controlListeners.set(type, listeners);
      const untyped = listener as (frame: ControlFrame) => void;
      listeners.add(untyped);
      return () => listeners.delete(untyped);
    },

    /** Receives only these notification types from now on (and after reconnects); `metrics` adds those. */
    subscribe(list: SubscriptionType[]) {
      types ??= new Set();
      for (const t of list) types.add(t);
      link.send({ type: "subscribe", data: { types: list } });
    },

    /** Stops receiving these types; with none left, all types come again. */
    unsubscribe(list: SubscriptionType[]) {
      for (const t of list) types?.delete(t);
      if (types?.size === 0) types = null;
      link.send({ type: "unsubscribe", data: { types: list } });
    },

    /** Loads the newest stored notifications and the unread count from the API. */
    load: inbox.load,
    /** Marks one notification read on the server, then here. */
    markRead: inbox.markRead,
    /** Marks every notification read on the server, then here. */
    markAllRead: inbox.markAllRead,
  };

  if (options.autoConnect !== false) client.connect();
  return client;
}

export type RealtimeClient = ReturnType<typeof createRealtimeClient>;
