/**
 * Every Deno KV key the service uses, built here and nowhere else. Prefixes are snake_case plurals; secondary
 * indexes are `<entity>_by_<field>`. The README's "KV key schema" section mirrors this file.
 */
export type Stream = `user:${string}` | "role:admin" | "all";

/**
 * Notification and connection ids are UUIDs; one longer than this is no entity's, and is not looked up (a key
 * holds at most 2 KiB, and KV throws on a longer one).
 */
export const MAX_ID_LENGTH = 200;

/** A live socket: `ConnectionRecord`, `expireIn` refreshed while the socket lives. */
export const connectionKey = (connectionId: string) => ["connections", connectionId] as const;
export const connectionsPrefix = () => ["connections"] as const;

/** Whose sockets a connection limit counts: a user (`RATE_LIMIT_PER_USER`) or a client IP (`RATE_LIMIT_PER_IP`). */
export type PlaceScope = "user" | "ip";
/** A user id or IP as a key part: itself, or its SHA-256 digest when too long for a key (lib/place_subjects.ts). */
export type PlaceSubjectPart = string | Uint8Array;

/**
 * Places claimed, or released, under one user's or one IP's limit on every isolate since it was last idle:
 * `Deno.KvU64`. Places taken = claimed − released. A claim checks the versionstamp of `claimed`; a release adds
 * to `released` without a check, so releases never conflict. Both go once claimed = released again.
 */
export type PlaceCountKind = "claimed" | "released";
export const placeCountKey = (scope: PlaceScope, subject: PlaceSubjectPart, kind: PlaceCountKind) =>
  [scope === "user" ? "place_counts_by_user" : "place_counts_by_ip", subject, kind] as const;

/** One holder (an isolate's registration): `{isolateId, registeredAt, reclaiming, commits}`. */
export const placeHolderKey = (holderId: string) => ["place_holders", holderId] as const;
export const placeHoldersPrefix = () => ["place_holders"] as const;

/** The share of one user's or IP's places that one holder has: a number, deleted at 0. */
export const placeHoldingKey = (holderId: string, scope: PlaceScope, subject: PlaceSubjectPart) =>
  ["place_holdings_by_holder", holderId, scope, subject] as const;
export const placeHoldingsPrefix = (holderId: string) => ["place_holdings_by_holder", holderId] as const;

/** One isolate's heartbeat and metrics snapshot, `expireIn` a few seconds so a dead isolate drops out. */
export const isolateKey = (isolateId: string) => ["isolates", isolateId] as const;
export const isolatesPrefix = () => ["isolates"] as const;

/** The last `seq` written to a stream (a plain number; absent means 0). */
export const streamHeadKey = (stream: Stream) => ["stream_heads", stream] as const;

/** A stored notification at its position, `expireIn` NOTIFICATION_TTL_DAYS. */
export const notificationKey = (stream: Stream, seq: number) => ["notifications", stream, seq] as const;
export const notificationsPrefix = (stream: Stream) => ["notifications", stream] as const;
/** Secondary index: notification id → `{stream, seq}`. */
export const notificationByIdKey = (id: string) => ["notifications_by_id", id] as const;

/** A notification a user read one at a time (above their read mark): `readAt` ISO string. */
export const readStateKey = (userId: string, stream: Stream, seq: number) =>
  ["read_states", userId, stream, seq] as const;
/**
 * The same reads as bits, one per seq, `CHUNK_BITS` seqs a chunk (lib/read_bitmaps.ts): a `Uint8Array` that
 * lets the unread count skip a range of reads without listing them.
 */
export const readBitmapKey = (userId: string, stream: Stream, chunk: number) =>
  ["read_bitmaps", userId, stream, chunk] as const;
/**
 * A user's reads of one stream: everything up to `seq` is read (read-all), and how many bits each read bitmap
 * has set (`ReadMark`, lib/read_marks.ts).
 */
export const readMarkKey = (userId: string, stream: Stream) => ["read_marks", userId, stream] as const;

/** A notification acknowledged as delivered to a user over a socket: `deliveredAt` ISO string. */
export const deliveryKey = (userId: string, notificationId: string) =>
  ["deliveries", userId, notificationId] as const;

/** A `webhook-id` seen in the last 24 h: `{receivedAt, notificationIds}`. */
export const webhookIdKey = (webhookId: string) => ["webhook_ids", webhookId] as const;

/** The KV relay's event log and its tail counter. */
export const relayLogKey = (position: number) => ["relay_log", position] as const;
export const relayLogPrefix = () => ["relay_log"] as const;
export const relayTailKey = () => ["relay_tail"] as const;

/** This store's id (a UUID), written once by whichever process first opens the store; relay events carry it. */
export const storeIdKey = () => ["store_id"] as const;
