/**
 * The wire protocol both sides speak (README "Socket protocol"): the subprotocol, the frame types each way, the
 * notification frame, the control frames' `data`, and every close code with whether a client should come back.
 *
 * Dependency-free on purpose: the server imports it, and the browser client (`lib/client/`) is bundled with it
 * as it is. Keep it that way: no imports but `import type` of other dependency-free modules, no Deno APIs.
 */

/** The subprotocol a client offers first, its token second: `["realtime.v1", token]`. */
export const SUBPROTOCOL = "realtime.v1";

// ---- Notifications ------------------------------------------------------------------------------------

export const NOTIFICATION_TYPES = [
  "project_update",
  "payment_update",
  "system_announcement",
  "admin_alert",
  "user_message",
] as const;
export type NotificationType = typeof NOTIFICATION_TYPES[number];

/** What `subscribe`/`unsubscribe` take: notification types, and `metrics` (admins only). */
export type SubscriptionType = NotificationType | "metrics";

/**
 * A stored notification on the socket: the seeds' `{type, data, timestamp}` plus its position (`stream`,
 * `seq`: one up per stream, no gaps) and its human `title` and `message`. `timestamp` is ISO 8601.
 */
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

// ---- Client → server ----------------------------------------------------------------------------------

/** Every frame type a client may send; each may carry an `id`, answered as `replyTo`. */
export const CLIENT_FRAME_TYPES = [
  "ping",
  "subscribe",
  "unsubscribe",
  "resume",
  "ack",
  "auth",
  "user_message",
  "system_announcement",
  "admin_alert",
  "project_update",
  "payment_update",
] as const;
export type ClientFrameType = typeof CLIENT_FRAME_TYPES[number];

// ---- Server → client control frames -------------------------------------------------------------------

/** Per stream, the highest `seq`: `{"user:u1": 41, "all": 3}`. */
export type StreamPositions = Record<string, number>;

/** The `id` of the client frame an answer replies to (`null` when that frame carried none). */
export type ReplyTo = string | number | null;

export interface WelcomeData {
  connectionId: string;
  userId: string;
  role: "admin" | "client";
  /** When the socket token runs out (ISO 8601); refresh it with `auth` before then. */
  expiresAt: string;
  /** Each stream the user reads, with its head (0 for an empty stream). */
  positions: StreamPositions;
  limits: {
    messageSizeLimit: number;
    messageRatePerMinute: number;
    heartbeatInterval: number;
    connectionTimeout: number;
  };
}

export type ErrorCode =
  | "invalid_type"
  | "invalid_payload"
  | "rate_limited"
  | "payload_too_large"
  | "busy"
  | "forbidden"
  | "unavailable"
  | "internal_error";

/** The seeds' `WebSocketMetrics`, summed across every live isolate: the `metrics` frame's data. */
export interface WebSocketMetrics {
  totalConnections: number;
  activeConnections: number;
  connectionsByRole: { admin: number; client: number };
  messagesPerSecond: number;
  /** Milliseconds, webhook accepted → frame handed to the socket. */
  averageLatency: number;
  errorRate: number;
  timestamp: string;
}

/** Each control frame's `data`. */
export interface ControlFrameData {
  /** Always the first frame. */
  welcome: WelcomeData;
  pong: { replyTo: ReplyTo; serverTime: string };
  error: { code: ErrorCode; message: string; replyTo?: ReplyTo };
  resumed: { replayed: number; positions: StreamPositions; replyTo?: ReplyTo };
  auth_ok: { expiresAt: string; replyTo?: ReplyTo };
  sent: { replyTo: ReplyTo; id: string };
  /** Once a second, to admins who subscribed to `metrics`. */
  metrics: WebSocketMetrics;
}
export type ControlFrameType = keyof ControlFrameData;

/** Typed as a record so that a control frame added above and not here fails the type check. */
const controlFrameTypes: Record<ControlFrameType, true> = {
  welcome: true,
  pong: true,
  error: true,
  resumed: true,
  auth_ok: true,
  sent: true,
  metrics: true,
};

/** A control frame of one type (or, without a type argument, of any). */
export type ControlFrame<T extends ControlFrameType = ControlFrameType> = {
  [K in T]: { type: K; data: ControlFrameData[K]; timestamp: string };
}[T];

/** Whether a frame type names a control frame rather than a notification. */
export function isControlFrameType(type: unknown): type is ControlFrameType {
  return typeof type === "string" && Object.hasOwn(controlFrameTypes, type);
}

// ---- Close codes --------------------------------------------------------------------------------------

/** A way a socket ends: its close code and reason, and whether the client should reconnect (and resume). */
export interface CloseCode {
  readonly code: number;
  readonly reason: string;
  readonly reconnect: boolean;
}

/**
 * Every way the service closes a socket. Only an administrator's disconnect tells the client to stay away;
 * after any other the client backs off, reconnects with a fresh token and resumes.
 */
export const CLOSE = {
  invalidAuth: { code: 1008, reason: "Invalid authentication", reconnect: true },
  tokenExpired: { code: 1008, reason: "Token expired", reconnect: true },
  connectionLimit: { code: 1008, reason: "Connection limit exceeded", reconnect: true },
  rateLimit: { code: 1008, reason: "Rate limit exceeded", reconnect: true },
  tryAgainLater: { code: 1013, reason: "Try again later", reconnect: true },
  invalidData: { code: 1003, reason: "Invalid data format", reconnect: true },
  tooBig: { code: 1009, reason: "Message too big", reconnect: true },
  slowConsumer: { code: 4008, reason: "Slow consumer", reconnect: true },
  disconnectedByAdmin: { code: 4500, reason: "Disconnected by administrator", reconnect: false },
  shuttingDown: { code: 1001, reason: "Server shutting down", reconnect: true },
} as const satisfies Record<string, CloseCode>;

export type CloseCause = keyof typeof CLOSE;

/** The ways a client ends a socket itself. */
export const CLIENT_CLOSE = {
  /** Closed by the application: a normal close, and final. */
  closed: { code: 1000, reason: "Client closed", reconnect: false },
  /** The network went away; the client comes back when it returns, not before. */
  offline: { code: 1000, reason: "Offline", reconnect: false },
  /** Pings went unanswered: the link is dead even if the browser has not noticed. */
  deadLink: { code: 4000, reason: "", reconnect: true },
} as const satisfies Record<string, CloseCode>;

const finalCodes = new Set<number>(
  [...Object.values(CLOSE), ...Object.values(CLIENT_CLOSE)].filter((c) => !c.reconnect).map((c) => c.code),
);

/**
 * Whether a client should reconnect after a close with this code: false after a normal close (1000) and an
 * administrator's (4500), true after every other, including codes no one here sends (1006 for a dropped link,
 * a proxy's 1011).
 */
export function reconnectsAfter(code: number): boolean {
  return !finalCodes.has(code);
}
