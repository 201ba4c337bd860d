/**
 * Whether a notification fits in Deno KV. A stored notification is one KV value, and a KV value is at most
 * 64 KiB as V8 serialises it: one byte a character for a string V8 holds in Latin-1, two for one it holds in
 * UTF-16 (any string with a character above U+00FF), plus a few bytes a field. The KV relay's log entry carries
 * the same notification with a small envelope. The decision is made before anything is stored, so an event
 * that cannot fit is refused (413, or an `error` frame) instead of failing its commit as a server error.
 */
import { serialize } from "node:v8";
import type { NotificationDraft } from "./notifications.ts";

/** Deno KV's largest value, in bytes of V8 serialisation. */
export const KV_VALUE_LIMIT = 65_536;

/** Room kept for what the KV relay's log entry wraps around a notification (kind, head, times, origin, …). */
export const RELAY_ENVELOPE_RESERVE = 1024;

/** The most a stored notification may take, serialised: KV's value limit less the relay's envelope. */
export const NOTIFICATION_SIZE_LIMIT = KV_VALUE_LIMIT - RELAY_ENVELOPE_RESERVE;

/** A notification that would not fit in one KV value; nothing was stored. */
export class NotificationTooLargeError extends Error {
  override name = "NotificationTooLargeError";
  constructor(readonly type: string, readonly size: number) {
    super(
      `The "${type}" notification would take ${size} bytes in storage; the limit is ` +
        `${NOTIFICATION_SIZE_LIMIT} bytes (Deno KV's 64 KiB value limit, less ${RELAY_ENVELOPE_RESERVE} ` +
        "for the relay; text with characters above U+00FF counts two bytes a character)",
    );
  }
}

/** What the store adds to a draft, at their largest encodings: a UUID, a seq as a double, an ISO time. */
const STORED_FIELDS = {
  id: "00000000-0000-0000-0000-000000000000",
  seq: Number.MAX_SAFE_INTEGER,
  createdAt: "+275760-09-13T00:00:00.000Z",
};

/**
 * An upper bound on V8's serialisation of a JSON-like value, whatever the representation V8 chose for each
 * string (a Latin-1 string may still be held as UTF-16, so every character is counted as two bytes): tags
 * and varints at their longest, padding included. Infinity for anything else, which is then measured.
 */
export function serializedSizeBound(value: unknown): number {
  switch (typeof value) {
    case "string":
      return 7 + 2 * value.length; // tag, padding, varint length, UTF-16
    case "number":
      return 9; // a double: tag and 8 bytes (a small integer takes less)
    case "boolean":
    case "undefined":
      return 1;
    case "object": {
      if (value === null) return 1;
      if (Array.isArray(value)) {
        let size = 17; // tag, length, end tag, property count, length
        for (const item of value) size += serializedSizeBound(item);
        return size;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return Infinity;
      let size = 7; // tag, end tag, property count
      for (const [key, item] of Object.entries(value)) {
        size += Math.max(9, serializedSizeBound(key)) + serializedSizeBound(item);
      }
      return size;
    }
    default:
      return Infinity;
  }
}

const storedForm = (draft: NotificationDraft) => ({ ...STORED_FIELDS, ...draft });

/** Exactly how many bytes this draft would take as a stored notification (at its largest id, seq and time). */
export function storedSize(draft: NotificationDraft): number {
  return serialize(storedForm(draft)).length;
}

/**
 * Throws NotificationTooLargeError, before anything is written, unless every draft fits in one KV value
 * with room for the KV relay's envelope. Most drafts are cleared by the quick bound; only those near the limit
 * are serialised to be measured exactly. The other values one commit writes (stream heads, the id index, the
 * webhook id with its notification ids) are small and bounded by the schemas.
 */
export function assertNotificationsFit(drafts: readonly NotificationDraft[]): void {
  for (const draft of drafts) {
    const stored = storedForm(draft);
    if (2 + serializedSizeBound(stored) <= NOTIFICATION_SIZE_LIMIT) continue; // 2: V8's version header
    const size = serialize(stored).length;
    if (size > NOTIFICATION_SIZE_LIMIT) throw new NotificationTooLargeError(draft.type, size);
  }
}
