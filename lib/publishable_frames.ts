/**
 * The frames a client may publish (SPEC §5), in one table: each is stored and delivered as the domain event it
 * names, exactly as if the platform had posted that event to the webhook (lib/events.ts turns it into
 * notifications). Who may send it: admins only, or anyone, where a client may only write to the support inbox.
 */
import type { z } from "zod";
import type { Identity } from "./auth.ts";
import { ADMINS_RECIPIENT } from "./events.ts";
import type { ClientFrameType } from "./protocol.ts";
import {
  adminAlertSchema,
  announcementSchema,
  type DomainEvent,
  paymentUpdateSchema,
  projectUpdateSchema,
  userMessageSchema,
} from "./schemas.ts";

/** `admins`: admins only. `anyone`: admins to anyone; clients only to `"admins"`, the support inbox. */
export type Senders = "admins" | "anyone";

export const PUBLISHABLE_FRAMES = {
  // The sender is not the client's to say: the server adds it from the token (`eventOf`).
  user_message: {
    event: "message.sent",
    sentBy: "anyone",
    data: userMessageSchema.omit({ fromUserId: true, fromUserName: true }),
  },
  system_announcement: { event: "announcement.published", sentBy: "admins", data: announcementSchema },
  admin_alert: { event: "admin.alert", sentBy: "admins", data: adminAlertSchema },
  project_update: { event: "project.status_changed", sentBy: "admins", data: projectUpdateSchema },
  payment_update: { event: "invoice.status_changed", sentBy: "admins", data: paymentUpdateSchema },
} as const satisfies Partial<
  Record<ClientFrameType, { event: DomainEvent["type"]; sentBy: Senders; data: z.ZodType }>
>;

export type PublishableFrameType = keyof typeof PUBLISHABLE_FRAMES;

/** Whether a client frame type is one that publishes. */
export function isPublishable(type: string): type is PublishableFrameType {
  return Object.hasOwn(PUBLISHABLE_FRAMES, type);
}

/**
 * Why `sender` may not publish this frame (the `forbidden` error's message), or null when it may. `data` has
 * passed the frame's schema.
 */
export function publishRefusal(
  sender: Pick<Identity, "role">,
  type: PublishableFrameType,
  data: unknown,
): string | null {
  if (sender.role === "admin") return null;
  if (PUBLISHABLE_FRAMES[type].sentBy === "admins") return `Unauthorized for message type: ${type}`;
  if ((data as { toUserId?: string }).toUserId !== ADMINS_RECIPIENT) {
    return `Clients may only write to "${ADMINS_RECIPIENT}"`;
  }
  return null;
}

/** The domain event a frame publishes: its data as sent, with the sender taken from the token where needed. */
export function eventOf(sender: Identity, type: PublishableFrameType, data: unknown): DomainEvent {
  const payload = type === "user_message"
    ? { ...(data as object), fromUserId: sender.userId, fromUserName: sender.name || sender.userId }
    : data;
  return { type: PUBLISHABLE_FRAMES[type].event, data: payload } as DomainEvent;
}
