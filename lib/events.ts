/**
 * Domain events become notifications here: which streams, which types, and the sentences people read.
 */
import type { DomainEvent } from "./schemas.ts";
import type { NotificationDraft } from "./notifications.ts";

/** The support inbox: a client's `user_message` to `"admins"` lands in `role:admin`. */
export const ADMINS_RECIPIENT = "admins";

const rupiah = (amount: number) => `Rp ${amount.toLocaleString("id-ID")}`;

/** Turns one domain event into the notifications it causes (SPEC §6). */
export function draftsFor(event: DomainEvent): NotificationDraft[] {
  switch (event.type) {
    case "project.status_changed": {
      const { userId, ...data } = event.data;
      const title = `Project "${data.projectName}" status changed to ${data.newStatus}`;
      const by = data.updatedBy ? ` by ${data.updatedBy}` : "";
      return [
        {
          stream: `user:${userId}`,
          type: "project_update",
          title,
          message: data.message ?? `Moved from ${data.oldStatus} to ${data.newStatus}${by}.`,
          data,
        },
        {
          stream: "role:admin",
          type: "admin_alert",
          title: "Project status changed",
          message: `${title}${by}`,
          data: {
            event: "project_status_change",
            message: `${title}${by}`,
            data: { userId, ...data },
            requiresAction: false,
          },
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
        message: event.data.message,
        data: event.data,
      }];
    case "admin.alert":
      return [{
        stream: "role:admin",
        type: "admin_alert",
        title: event.data.requiresAction ? "Action required" : "Admin alert",
        message: event.data.message,
        data: event.data,
      }];
    case "message.sent": {
      const toAdmins = event.data.toUserId === ADMINS_RECIPIENT;
      return [{
        stream: toAdmins ? "role:admin" : `user:${event.data.toUserId}`,
        type: "user_message",
        title: `Message from ${event.data.fromUserName || event.data.fromUserId}: ${event.data.subject}`,
        message: event.data.content,
        data: event.data,
      }];
    }
  }
}
