/**
 * The shapes of the platform's domain events, as they come in by webhook (and, for the frames a client may
 * publish, by socket: lib/publishable_frames.ts). Types are inferred from these schemas, never written twice.
 */
import { z } from "zod";
import { NOTIFICATION_TYPES } from "./protocol.ts";

export const notificationTypeSchema = z.enum(NOTIFICATION_TYPES);

const id = z.string().min(1).max(200);
const text = (max: number) => z.string().min(1).max(max);
/** Statuses are lower-case words joined by underscores: `pending_payment`, `in_progress`, `paid`. */
const status = z.string().regex(/^[a-z]+(?:_[a-z]+)*$/, "must be a lower-case word such as in_progress").max(
  64,
);
const isoDate = z.iso.datetime({ offset: true });
const url = z.string().max(2048).refine(
  (u) => /^(https?:\/\/|\/)/.test(u),
  "must be an http(s) URL or a path",
);

export const projectUpdateSchema = z.strictObject({
  userId: id,
  projectId: id,
  projectName: text(200),
  oldStatus: status,
  newStatus: status,
  message: z.string().max(2000).optional(),
  url: url.optional(),
  updatedBy: z.string().max(200).optional(),
});

export const paymentUpdateSchema = z.strictObject({
  userId: id,
  invoiceId: id,
  projectId: id,
  projectName: text(200),
  amount: z.number().finite().nonnegative(),
  status,
  paidAt: isoDate.optional(),
});

export const announcementSchema = z.strictObject({
  title: text(200),
  message: text(2000),
  priority: z.enum(["low", "medium", "high", "critical"]),
  actionUrl: url.optional(),
});

export const adminAlertSchema = z.strictObject({
  event: text(100),
  message: text(2000),
  data: z.record(z.string(), z.unknown()),
  requiresAction: z.boolean(),
});

export const userMessageSchema = z.strictObject({
  fromUserId: id,
  fromUserName: z.string().max(200),
  toUserId: id,
  subject: text(200),
  content: text(5000),
});

/** The platform's domain events, as posted to `POST /api/webhooks/events`. */
export const domainEventSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("project.status_changed"), data: projectUpdateSchema }),
  z.strictObject({ type: z.literal("invoice.status_changed"), data: paymentUpdateSchema }),
  z.strictObject({ type: z.literal("announcement.published"), data: announcementSchema }),
  z.strictObject({ type: z.literal("admin.alert"), data: adminAlertSchema }),
  z.strictObject({ type: z.literal("message.sent"), data: userMessageSchema }),
]);
export type DomainEvent = z.infer<typeof domainEventSchema>;
