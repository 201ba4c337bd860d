/**
 * A stored notification as people and programs see it: frames and API answers show `data` whole, with the
 * message back in the field it came in (`data.message`, `data.content`), though the store keeps it only once.
 */
import type { NotificationView, StoredNotification } from "./notifications.ts";

/**
 * The notification's `data` as frames and API answers show it (README "Message size" under Configuration):
 * the stored message put back into its field, if it has one.
 */
export function notificationData(n: StoredNotification): Record<string, unknown> {
  return n.messageField ? { ...n.data, [n.messageField]: n.message } : n.data;
}

/** The API's view of a notification: the stored fields, `data` whole, and when this user read it. */
export function notificationView(n: StoredNotification, readAt: string | null): NotificationView {
  const { messageField: _, ...fields } = n;
  return { ...fields, data: notificationData(n), readAt };
}
