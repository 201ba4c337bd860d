/**
 * The read side of the store, per user: listing their notifications with what they have read (cursor pages,
 * unread filter, unread count), marking one read, and marking all read. What is kept, and why its cost is
 * bounded, is in lib/read_marks.ts (marks, read states, bitmaps) and lib/notification_list.ts (pages).
 */
import type { Stream } from "./keys.ts";
import { createNotificationLister } from "./notification_list.ts";
import {
  type NotificationView,
  type Positions,
  type StoredNotification,
  streamsOf,
} from "./notifications.ts";
import { createReadMarks } from "./read_marks.ts";

const MAX_PAGE = 100;

export interface ListOptions {
  unread?: boolean;
  limit?: number;
  cursor?: string;
}

export interface NotificationPage {
  items: NotificationView[];
  nextCursor: string | null;
  unreadCount: number;
}

/** A cursor this service did not make. */
export class CursorError extends Error {}

function encodeCursor(positions: Positions): string {
  return btoa(JSON.stringify(positions)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A cursor's positions; a position that does not parse, or lies beyond its stream's head, is a CursorError. */
function decodeCursor(cursor: string, streams: Stream[], heads: Positions): Positions {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    throw new CursorError("Cursor is not valid");
  }
  const positions: Positions = {};
  for (const stream of streams) {
    const value = parsed?.[stream];
    if (!Number.isSafeInteger(value) || (value as number) < 0) throw new CursorError("Cursor is not valid");
    // A cursor is made below a head that only grows: one beyond it was not made by this service.
    if ((value as number) > heads[stream]) {
      throw new CursorError(`Cursor position of stream "${stream}" is beyond its head`);
    }
    positions[stream] = value as number;
  }
  return positions;
}

export interface ReadStateDeps {
  ttlMs: number;
  now: () => number;
  /** Whether a stored notification is still within its TTL. */
  alive: (n: StoredNotification) => boolean;
  /** The streams' heads, read no earlier than the call. */
  heads: (streams: Stream[]) => Promise<Positions>;
  /** The live notification with this id, or null. */
  byId: (id: string) => Promise<StoredNotification | null>;
}

/** Users' read states over the notifications in `kv`. */
export function createReadStates(kv: Deno.Kv, deps: ReadStateDeps) {
  const marks = createReadMarks(kv, deps);
  const listPage = createNotificationLister(kv, marks, deps.alive);

  /**
   * One page of a user's notifications, newest first, merged across their streams, with the exact unread
   * count. It examines a bounded number of stored notifications (`SCAN_BUDGET`): a page may hold fewer than
   * `limit` items, even none, and still carry a `nextCursor`; the listing ends when `nextCursor` is null.
   * `examined` is the number of KV entries it read. Throws CursorError for a cursor this service did not make.
   */
  async function list(
    userId: string,
    role: "admin" | "client",
    opts: ListOptions = {},
  ): Promise<NotificationPage & { examined: number }> {
    const streams = streamsOf(userId, role);
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), MAX_PAGE);
    const heads = await deps.heads(streams);
    const below = opts.cursor ? decodeCursor(opts.cursor, streams, heads) : heads;
    const page = await listPage({ userId, streams, heads, below, unread: opts.unread ?? false, limit });
    return {
      items: page.items,
      nextCursor: page.next ? encodeCursor(page.next) : null,
      unreadCount: page.unreadCount,
      examined: page.examined,
    };
  }

  /** Marks one notification read for this user; false when it is not theirs to read. */
  async function markRead(userId: string, role: "admin" | "client", id: string): Promise<boolean> {
    const n = await deps.byId(id);
    if (!n || !streamsOf(userId, role).includes(n.stream)) return false;
    await marks.markRead(userId, n);
    return true;
  }

  /**
   * Marks everything currently in the user's streams read, in one commit over all their streams; returns how
   * many were unread.
   */
  async function markAllRead(userId: string, role: "admin" | "client"): Promise<number> {
    const streams = streamsOf(userId, role);
    return await marks.markAllRead(userId, streams, await deps.heads(streams));
  }

  return { list, markRead, markAllRead };
}
