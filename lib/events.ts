/**
 * Domain events become notifications here: which streams, which types, and the sentences people read.
 */
import type { DomainEvent } from "./schemas.ts";
import type { NotificationDraft } from "./notifications.ts";

/** The support inbox: a client's `user_message` to `"admins"` lands in `role:admin`. */
export const ADMINS_RECIPIENT = "admins";

const rupiah = (amount: number) => `Rp ${amount.toLocaleString("id-ID")}`;

/**
 * The message of a notification whose `data` carries it in `field`, and `data` without it: the text is stored
 * once, as `message`, and frames and the API put it back into `data` (notificationData).
 */
function messageFrom<F extends "message" | "content", T extends Record<F, string>>(data: T, field: F) {
  const { [field]: message, ...rest } = data;
  return { message, data: rest as Record<string, unknown>, messageField: field };
}

/** Turns one domain event into the notifications it causes (README "POST /api/webhooks/events"). */
export function draftsFor(event: DomainEvent): NotificationDraft[] {
  switch (event.type) {
    case "project.status_changed": {
      const { userId, message, ...data } = event.data;
      const title = `Project "${data.projectName}" status changed to ${data.newStatus}`;
      const by = data.updatedBy ? ` by ${data.updatedBy}` : "";
      return [
        {
          stream: `user:${userId}`,
          type: "project_update",
          title,
          ...(message === undefined
            ? { message: `Moved from ${data.oldStatus} to ${data.newStatus}${by}.`, data }
            : { message, data, messageField: "message" as const }),
        },
        {
          stream: "role:admin",
          type: "admin_alert",
          title: "Project status changed",
          ...messageFrom({
            event: "project_status_change",
            message: `${title}${by}`,
            data: event.data,
            requiresAction: false,
          }, "message"),
        },
      ];
    }
    case "invoice.status_changed": {
      const { userId, ...data } = event.data;
      const statusText = data.status === "paid" ? "paid successfully" : data.status;
      return [{
        stream: `user:${userId}`,
        type: "payment_update",
        title: data.status === "paid" ? "Payment received" : `Invoice ${data.status}`,
        message: `Payment of ${rupiah(data.amount)} for "${data.projectName}" ${statusText}`,
        data,
      }];
    }
    case "announcement.published":
      return [{
        stream: "all",
        type: "system_announcement",
        title: event.data.title,
        ...messageFrom(event.data, "message"),
      }];
    case "admin.alert":
      return [{
        stream: "role:admin",
        type: "admin_alert",
        title: event.data.requiresAction ? "Action required" : "Admin alert",
        ...messageFrom(event.data, "message"),
      }];
    case "message.sent": {
      const toAdmins = event.data.toUserId === ADMINS_RECIPIENT;
      return [{
        stream: toAdmins ? "role:admin" : `user:${event.data.toUserId}`,
        type: "user_message",
        title: `Message from ${event.data.fromUserName || event.data.fromUserId}: ${event.data.subject}`,
        ...messageFrom(event.data, "content"),
      }];
    }
  }
}
