/**
 * The client's notifications: the newest few, newest first, and the unread count, as signals. They come from
 * the notification API (`load`) and the socket (`add`), and are marked read on the server first, then here.
 * The API is called with the socket token as `Authorization: Bearer`.
 */
import { batch, type ReadonlySignal, signal } from "@preact/signals";
import type { NotificationFrame, NotificationType } from "../protocol.ts";
import type { ClientEnvironment } from "./environment.ts";
import type { TokenKeeper } from "./tokens.ts";

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

export interface InboxOptions {
  /** Notifications kept. */
  keep: number;
  /** Base of the HTTP API (`/api/notifications`); derived from the socket URL when absent. */
  apiUrl?: string;
  tokens: TokenKeeper;
  env: ClientEnvironment;
  onError(message: string): void;
}

/** Creates the inbox, empty until `load()` or the first notification. */
export function createInbox(options: InboxOptions) {
  const { keep, tokens, env } = options;
  const notifications = signal<ClientNotification[]>([]);
  const unreadCount = signal(0);
  /** Live notifications that arrived while the first list was being loaded. */
  let arrivedDuringLoad: Set<string> | null = null;

  function apiBase(): string {
    if (options.apiUrl) return options.apiUrl.replace(/\/$/, "");
    const connectionUrl = tokens.connectionUrl();
    if (!connectionUrl) throw new Error("No API URL known before the first token");
    const url = new URL(connectionUrl);
    url.protocol = url.protocol === "wss:" ? "https:" : "http:";
    return `${url.origin}${url.pathname.replace(/\/ws$/, "")}`;
  }

  async function api(path: string, init: RequestInit = {}): Promise<Response> {
    if (!tokens.current()) await tokens.renew();
    const res = await env.fetch(`${apiBase()}${path}`, {
      ...init,
      headers: { ...init.headers, authorization: `Bearer ${tokens.current()}` },
    });
    if (!res.ok) {
      const message = `${init.method ?? "GET"} ${path} failed with ${res.status}`;
      options.onError(message);
      throw new Error(message);
    }
    return res;
  }

  return {
    notifications: notifications as ReadonlySignal<ClientNotification[]>,
    unreadCount: unreadCount as ReadonlySignal<number>,

    /** Adds a new notification from the socket, unread. */
    add(frame: NotificationFrame) {
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
        notifications.value = [item, ...notifications.value].sort(newestFirst).slice(0, keep);
        unreadCount.value++;
      });
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
}

function newestFirst(a: ClientNotification, b: ClientNotification): number {
  return b.createdAt.localeCompare(a.createdAt) || b.seq - a.seq;
}
