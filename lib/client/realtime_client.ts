/**
 * The browser client of the socket protocol (SPEC §5, §8), served bundled as `/client.js` and importable from
 * Deno. It fetches socket tokens, connects with `["realtime.v1", token]`, reconnects with exponential back-off
 * and full jitter, refreshes its token over the socket before it expires, pings to spot dead links (browsers
 * cannot see protocol pings), and resumes from its per-stream positions after every reconnect and on any
 * `seq` gap, so that nothing is lost or shown twice. Its state is a set of Preact signals.
 *
 * Everything that touches the outside world (clock, timers, randomness, WebSocket, fetch, the network's
 * online state) is injected, so tests can drive it with a fake clock and fake sockets.
 */
import { batch, computed, type ReadonlySignal, signal } from "@preact/signals";
import { browserEnvironment, type ClientEnvironment } from "./environment.ts";
import { createStreamPositions } from "./positions.ts";

export type { ClientEnvironment };

export type ConnectionStatus = "connected" | "connecting" | "offline";

export type NotificationType =
  | "project_update"
  | "payment_update"
  | "system_announcement"
  | "admin_alert"
  | "user_message";

/** A notification as the client holds it: the socket frame's fields plus its read state. */
export interface ClientNotification {
  id: string;
  type: NotificationType;
  title: string;
  message: string;
  data: Record<string, unknown>;
  stream: string;
  seq: number;
  /** ISO 8601. */
  createdAt: string;
  readAt: string | null;
}

/** A notification frame as it comes off the socket. */
export interface NotificationFrame {
  type: NotificationType;
  data: Record<string, unknown>;
  timestamp: string;
  id: string;
  stream: string;
  seq: number;
  title: string;
  message: string;
}

/** What a token source answers: the socket token and where to connect with it. */
export interface TokenGrant {
  token: string;
  connectionUrl?: string;
}

export interface ClientOptions {
  /** An endpoint answering `POST` (with the page's cookies) with `{token, connectionUrl}`. */
  tokenUrl?: string;
  /** Or a function producing the token; wins over `tokenUrl`. */
  getToken?: () => Promise<TokenGrant>;
  /** Socket URL when the token grant does not name one. */
  url?: string;
  /** Base of the HTTP API (`/api/notifications`); derived from the socket URL when absent. */
  apiUrl?: string;
  /** Notification types to receive; all when absent. */
  types?: NotificationType[];
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

/** Close codes after which the client does not come back: a normal close and an administrator's. */
export const FINAL_CLOSE_CODES: readonly number[] = [1000, 4500];
/** The code the client closes a link with when its pings go unanswered. */
export const DEAD_LINK_CODE = 4000;

/** The full-jitter back-off of attempt `n` (0-based): uniform in [0, min(max, base·2ⁿ)). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

/** Creates a client; it connects at once unless `autoConnect` is false. */
export function createRealtimeClient(options: ClientOptions) {
  const env: ClientEnvironment = { ...browserEnvironment(), ...options.env };
  const backoffBase = options.backoffBaseMs ?? 1000;
  const backoffMax = options.backoffMaxMs ?? 30_000;
  const pingInterval = options.pingIntervalMs ?? 20_000;
  const pongTimeout = options.pongTimeoutMs ?? 10_000;
  const keep = options.keep ?? 50;

  const status = signal<ConnectionStatus>("offline");
  const notifications = signal<ClientNotification[]>([]);
  const unreadCount = signal(0);
  const lastError = signal<string | null>(null);
  const connected = computed(() => status.value === "connected");

  const positions = createStreamPositions();
  const listeners = new Set<(n: NotificationFrame) => void>();
  let types = options.types ? new Set(options.types) : null;
  let ws: WebSocket | null = null;
  let token: string | null = null;
  let connectionUrl: string | null = options.url ?? null;
  let expiresAt = 0;
  let welcomedOnce = false;
  let welcomed = false;
  /** Consecutive attempts that ended without a welcome. */
  let failures = 0;
  let stopped = false;
  /** A token is being fetched for a new socket. */
  let opening = false;
  let resumeInFlight = false;
  let resumeWanted = false;
  let frameCounter = 0;
  /** Live notifications that arrived while the first list was being loaded. */
  let arrivedDuringLoad: Set<string> | null = null;
  const timers = {
    reconnect: null as unknown,
    ping: null as unknown,
    pong: null as unknown,
    refresh: null as unknown,
  };

  function clearTimer(name: keyof typeof timers) {
    if (timers[name] !== null) env.clearTimeout(timers[name]);
    timers[name] = null;
  }

  function send(frame: Record<string, unknown>): boolean {
    if (!ws || ws.readyState !== 1 /* OPEN */) return false;
    ws.send(JSON.stringify({ ...frame, id: `c${++frameCounter}` }));
    return true;
  }

  async function fetchToken(): Promise<TokenGrant> {
    if (options.getToken) return await options.getToken();
    if (!options.tokenUrl) throw new Error("Either tokenUrl or getToken is required");
    const res = await env.fetch(options.tokenUrl, { method: "POST", credentials: "include" });
    if (!res.ok) throw new Error(`Token request failed with ${res.status}`);
    return await res.json();
  }

  function apiBase(): string {
    if (options.apiUrl) return options.apiUrl.replace(/\/$/, "");
    if (!connectionUrl) throw new Error("No API URL known before the first token");
    const url = new URL(connectionUrl);
    url.protocol = url.protocol === "wss:" ? "https:" : "http:";
    return `${url.origin}${url.pathname.replace(/\/ws$/, "")}`;
  }

  function setStatus(next: ConnectionStatus) {
    status.value = next;
  }

  /** "Connecting…" on the first try after being connected (or at start); "Offline" once a try has failed. */
  function waitingStatus(): ConnectionStatus {
    return failures > 0 || !env.network.isOnline() ? "offline" : "connecting";
  }

  function scheduleReconnect() {
    clearTimer("reconnect");
    if (stopped || !env.network.isOnline()) {
      setStatus("offline");
      return;
    }
    setStatus(waitingStatus());
    const delay = backoffDelay(failures, backoffBase, backoffMax, env.random);
    timers.reconnect = env.setTimeout(() => {
      timers.reconnect = null;
      open();
    }, delay);
  }

  async function open() {
    if (stopped || ws || opening) return;
    if (!env.network.isOnline()) return setStatus("offline");
    setStatus(waitingStatus());
    let grant: TokenGrant;
    opening = true;
    try {
      grant = await fetchToken();
    } catch (error) {
      lastError.value = error instanceof Error ? error.message : String(error);
      failures++;
      return scheduleReconnect();
    } finally {
      opening = false;
    }
    if (stopped || ws) return;
    token = grant.token;
    connectionUrl = grant.connectionUrl ?? connectionUrl;
    if (!connectionUrl) {
      lastError.value = "The token grant names no connectionUrl and no url option was given";
      return setStatus("offline");
    }
    let socket: WebSocket;
    try {
      socket = new env.WebSocket(connectionUrl, ["realtime.v1", grant.token]);
    } catch (error) {
      lastError.value = error instanceof Error ? error.message : String(error);
      failures++;
      return scheduleReconnect();
    }
    ws = socket;
    welcomed = false;
    socket.onmessage = (event) => {
      if (ws !== socket) return;
      onFrame(event.data);
    };
    socket.onclose = (event) => {
      if (ws !== socket) return;
      onClose(event.code, event.reason);
    };
    socket.onerror = () => {
      if (ws === socket) lastError.value = "Connection error";
    };
  }

  function dropSocket(code: number, reason: string) {
    const socket = ws;
    ws = null;
    welcomed = false;
    for (const name of ["ping", "pong", "refresh"] as const) clearTimer(name);
    resumeInFlight = false;
    try {
      socket?.close(code, reason);
    } catch {
      // Already closing.
    }
  }

  function onClose(code: number, reason: string) {
    const wasWelcomed = welcomed;
    dropSocket(code, reason);
    if (reason) lastError.value = `Closed ${code}: ${reason}`;
    if (FINAL_CLOSE_CODES.includes(code)) {
      stopped = true;
      clearTimer("reconnect");
      return setStatus("offline");
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
        lastError.value = "No answer to ping";
        onClose(DEAD_LINK_CODE, "");
      }, pongTimeout);
    }, pingInterval);
  }

  function scheduleRefresh() {
    clearTimer("refresh");
    const left = expiresAt - env.now();
    // Refresh at three quarters of the token's life, so a slow token endpoint still has time.
    const delay = Math.max(1000, Math.floor(left * 0.75));
    timers.refresh = env.setTimeout(async () => {
      timers.refresh = null;
      try {
        const grant = await fetchToken();
        token = grant.token;
        send({ type: "auth", data: { token: grant.token } });
      } catch (error) {
        lastError.value = error instanceof Error ? error.message : String(error);
        // Try again soon; if the token runs out first the server closes 1008 and the reconnect gets a new one.
        timers.refresh = env.setTimeout(scheduleRefresh, Math.min(5000, Math.max(1000, left / 4)));
      }
    }, delay);
  }

  function requestResume() {
    if (resumeInFlight) {
      resumeWanted = true;
      return;
    }
    if (send({ type: "resume", data: { positions: positions.snapshot() } })) resumeInFlight = true;
  }

  function onWelcome(data: { expiresAt: string; positions: Record<string, number> }) {
    welcomed = true;
    failures = 0;
    lastError.value = null;
    expiresAt = Date.parse(data.expiresAt);
    scheduleRefresh();
    if (types) send({ type: "subscribe", data: { types: [...types] } });
    const resuming = welcomedOnce;
    for (const [stream, seq] of Object.entries(data.positions)) {
      const mine = positions.get(stream);
      if (mine === undefined || seq < mine) positions.reset(stream, seq);
    }
    welcomedOnce = true;
    // After a reconnect, ask for whatever was published while this client was away.
    if (resuming) requestResume();
    setStatus("connected");
  }

  function onNotification(frame: NotificationFrame) {
    const verdict = positions.accept(frame.stream, frame.seq);
    if (verdict === "duplicate") return;
    if (verdict === "gap") requestResume();
    arrivedDuringLoad?.add(frame.id);
    const item: ClientNotification = {
      id: frame.id,
      type: frame.type,
      title: frame.title,
      message: frame.message,
      data: frame.data,
      stream: frame.stream,
      seq: frame.seq,
      createdAt: frame.timestamp,
      readAt: null,
    };
    batch(() => {
      notifications.value = insertNewestFirst(notifications.value, item, keep);
      unreadCount.value++;
    });
    for (const listener of listeners) listener(frame);
  }

  function onFrame(raw: unknown) {
    if (typeof raw !== "string") return;
    let frame: { type?: string; data?: Record<string, unknown>; seq?: number; stream?: string };
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    heardFromServer();
    switch (frame.type) {
      case "welcome":
        onWelcome(frame.data as { expiresAt: string; positions: Record<string, number> });
        heardFromServer();
        return;
      case "auth_ok":
        expiresAt = Date.parse(String(frame.data?.expiresAt));
        scheduleRefresh();
        return;
      case "resumed":
        resumeInFlight = false;
        positions.raise((frame.data?.positions ?? {}) as Record<string, number>);
        if (resumeWanted) {
          resumeWanted = false;
          requestResume();
        }
        return;
      case "error":
        lastError.value = String(frame.data?.message ?? "Server error");
        return;
      default:
        // Only stored notifications carry a position; the welcome's "Connected" announcement does not.
        if (typeof frame.seq === "number" && typeof frame.stream === "string") {
          onNotification(frame as NotificationFrame);
        }
    }
  }

  async function api(path: string, init: RequestInit = {}): Promise<Response> {
    if (!token) await ensureToken();
    const res = await env.fetch(`${apiBase()}${path}`, {
      ...init,
      headers: { ...init.headers, authorization: `Bearer ${token}` },
    });
    if (!res.ok) {
      const message = `${init.method ?? "GET"} ${path} failed with ${res.status}`;
      lastError.value = message;
      throw new Error(message);
    }
    return res;
  }

  async function ensureToken() {
    const grant = await fetchToken();
    token = grant.token;
    connectionUrl = grant.connectionUrl ?? connectionUrl;
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
      dropSocket(1000, "Offline");
      setStatus("offline");
    }
  });

  const client = {
    status: status as ReadonlySignal<ConnectionStatus>,
    connected,
    notifications: notifications as ReadonlySignal<ClientNotification[]>,
    unreadCount: unreadCount as ReadonlySignal<number>,
    lastError: lastError as ReadonlySignal<string | null>,

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
      dropSocket(1000, "Client closed");
      setStatus("offline");
    },

    /** Closes and forgets every listener, including the online/offline ones. */
    dispose() {
      client.close();
      unsubscribeNetwork();
      listeners.clear();
    },

    /** The per-stream positions the next resume will send. */
    positions: () => positions.snapshot(),

    /** The current socket token (for the notification API as `Authorization: Bearer`). */
    token: () => token,

    /** Calls `listener` with each new notification frame (never a duplicate); returns an unsubscribe. */
    onNotification(listener: (frame: NotificationFrame) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** Receives only these notification types from now on (and after reconnects). */
    subscribe(list: NotificationType[]) {
      types ??= new Set();
      for (const t of list) types.add(t);
      send({ type: "subscribe", data: { types: list } });
    },

    /** Stops receiving these types; with none left, all types come again. */
    unsubscribe(list: NotificationType[]) {
      for (const t of list) types?.delete(t);
      if (types?.size === 0) types = null;
      send({ type: "unsubscribe", data: { types: list } });
    },

    /** Loads the newest stored notifications and the unread count from the API. */
    async load(limit = 20) {
      arrivedDuringLoad = new Set();
      try {
        const res = await api(`/api/notifications?limit=${limit}`);
        const page = await res.json() as { items: ClientNotification[]; unreadCount: number };
        const listed = new Set(page.items.map((n) => n.id));
        const liveOnly = notifications.value.filter((n) => !listed.has(n.id));
        // What came live during the request may or may not be in its count; count it once.
        const uncounted = [...arrivedDuringLoad].filter((id) => !listed.has(id)).length;
        batch(() => {
          notifications.value = [...liveOnly, ...page.items].sort(newestFirst).slice(0, keep);
          unreadCount.value = page.unreadCount + uncounted;
        });
      } finally {
        arrivedDuringLoad = null;
      }
    },

    /** Marks one notification read on the server, then here. */
    async markRead(id: string) {
      await api(`/api/notifications/${encodeURIComponent(id)}/read`, { method: "POST" });
      const item = notifications.value.find((n) => n.id === id);
      // Only a notification known here to be unread lowers the count; the server's answer is 204 either way.
      if (!item || item.readAt) return;
      batch(() => {
        const readAt = new Date(env.now()).toISOString();
        notifications.value = notifications.value.map((n) => (n.id === id ? { ...n, readAt } : n));
        unreadCount.value = Math.max(0, unreadCount.value - 1);
      });
    },

    /** Marks every notification read on the server, then here. */
    async markAllRead() {
      await api(`/api/notifications/read-all`, { method: "POST" });
      const readAt = new Date(env.now()).toISOString();
      batch(() => {
        notifications.value = notifications.value.map((n) => (n.readAt ? n : { ...n, readAt }));
        unreadCount.value = 0;
      });
    },
  };

  if (options.autoConnect !== false) client.connect();
  return client;
}

export type RealtimeClient = ReturnType<typeof createRealtimeClient>;

function newestFirst(a: ClientNotification, b: ClientNotification): number {
  return b.createdAt.localeCompare(a.createdAt) || b.seq - a.seq;
}

function insertNewestFirst(list: ClientNotification[], item: ClientNotification, keep: number) {
  return [item, ...list].sort(newestFirst).slice(0, keep);
}
