/** Posts a domain event to the webhook endpoint, signed as Standard Webhooks does (by its npm package). */
import { Webhook } from "standardwebhooks";
import { TEST_WEBHOOK_SECRET } from "./server.ts";

export async function postEvent(
  baseUrl: string,
  event: unknown,
  options: { id?: string; secret?: string; timestamp?: Date } = {},
): Promise<Response> {
  const id = options.id ?? `msg_${crypto.randomUUID()}`;
  const body = JSON.stringify(event);
  const timestamp = options.timestamp ?? new Date();
  const signature = new Webhook(options.secret ?? TEST_WEBHOOK_SECRET).sign(id, timestamp, body);
  return await fetch(`${baseUrl}/api/webhooks/events`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
      "webhook-signature": signature,
    },
    body,
  });
}

/** A sample `announcement.published` event. */
export const announcement = (title = "Maintenance tonight") => ({
  type: "announcement.published",
  data: { title, message: "The dashboard will be down from 22:00 WIB.", priority: "medium" },
});

/** A sample `project.status_changed` event for a user. */
export const projectChanged = (userId: string, newStatus = "in_progress", projectName = "Toko Batik") => ({
  type: "project.status_changed",
  data: { userId, projectId: "p-1", projectName, oldStatus: "pending_payment", newStatus },
});
