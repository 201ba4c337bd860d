/**
 * The notification widget: connection status dot, a bell with the unread count, the list with mark-read and
 * mark-all-read, and a toast per new notification. It renders inside the `<jasaweb-notifications>` element's
 * shadow root (see `widget_element.tsx`) and reads everything from a realtime client's signals.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type {
  ClientNotification,
  ConnectionStatus,
  NotificationFrame,
  RealtimeClient,
} from "../lib/client/realtime_client.ts";
import { WIDGET_CSS } from "./widget_styles.ts";

export interface NotificationWidgetProps {
  client: RealtimeClient;
  /** How long a toast stays, in ms. */
  toastMs?: number;
}

const STATUS_LABEL: Record<ConnectionStatus, string> = {
  connected: "Connected",
  connecting: "Connecting…",
  offline: "Offline",
};

function BellIcon() {
  return (
    <svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2">
      <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
      <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
    </svg>
  );
}

interface Toast {
  key: string;
  title: string;
  message: string;
  type: string;
}

function timeAgo(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

function Item({ n, onRead }: { n: ClientNotification; onRead: (id: string) => void }) {
  const unread = !n.readAt;
  return (
    <li part="item" class={unread ? "item unread" : "item"} data-id={n.id} data-type={n.type}>
      <span class="kind" aria-hidden="true" />
      <div class="text">
        <strong class="title">{n.title}</strong>
        <span class="message">{n.message}</span>
        <time dateTime={n.createdAt}>{timeAgo(n.createdAt)}</time>
      </div>
      {unread && (
        <button
          type="button"
          class="mark"
          onClick={() => onRead(n.id)}
          // The visible words come first in the name, so speech users can say what they see (WCAG 2.5.3).
          aria-label={`Mark read: ${n.title}`}
        >
          Mark read
        </button>
      )}
    </li>
  );
}

/** The widget island; all state lives in the client's signals except which panel and toasts are shown. */
export default function NotificationWidget({ client, toastMs = 6000 }: NotificationWidgetProps) {
  const [open, setOpen] = useState(false);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const bell = useRef<HTMLButtonElement>(null);
  const status = client.status.value;
  const unread = client.unreadCount.value;
  const items = client.notifications.value;

  useEffect(() =>
    client.onNotification((frame: NotificationFrame) => {
      const toast = { key: `${frame.id}`, title: frame.title, message: frame.message, type: frame.type };
      setToasts((list) => [...list.slice(-2), toast]);
      setTimeout(() => setToasts((list) => list.filter((t) => t.key !== toast.key)), toastMs);
    }), [client, toastMs]);

  const markRead = (id: string) => client.markRead(id).catch(() => {});
  const close = () => {
    setOpen(false);
    bell.current?.focus();
  };

  return (
    <div class="widget" onKeyDown={(e) => e.key === "Escape" && open && close()}>
      <style>{WIDGET_CSS}</style>
      <div class="bar">
        <span part="status" class={`status ${status}`} role="status" data-status={status}>
          <span class="dot" aria-hidden="true" />
          {STATUS_LABEL[status]}
        </span>
        <button
          ref={bell}
          type="button"
          class="bell"
          aria-haspopup="true"
          aria-expanded={open}
          aria-controls="jw-panel"
          aria-label={unread ? `Notifications, ${unread} unread` : "Notifications"}
          onClick={() => setOpen(!open)}
        >
          <BellIcon />
          <span part="badge" class="badge" aria-label={`${unread} unread`} hidden={unread === 0}>
            {unread}
          </span>
        </button>
      </div>
      {open && (
        <section id="jw-panel" class="panel" aria-label="Notifications">
          <header>
            <h2>Notifications</h2>
            <button
              type="button"
              class="mark-all"
              disabled={unread === 0}
              onClick={() => client.markAllRead().catch(() => {})}
            >
              Mark all read
            </button>
            <button type="button" class="close" aria-label="Close notifications" onClick={close}>✕</button>
          </header>
          {items.length
            ? (
              <ul part="list" class="list">
                {items.map((n) => <Item key={n.id} n={n} onRead={markRead} />)}
              </ul>
            )
            : <p class="empty">No notifications yet.</p>}
        </section>
      )}
      <div class="toasts" aria-live="polite">
        {toasts.map((t) => (
          <div part="toast" class="toast" key={t.key} data-type={t.type}>
            <strong>{t.title}</strong>
            <span>{t.message}</span>
            <button
              type="button"
              aria-label="Dismiss"
              onClick={() => setToasts((list) => list.filter((x) => x.key !== t.key))}
            >
              ✕
            </button>
          </div>
        ))}
      </div>
    </div>
  );
}
