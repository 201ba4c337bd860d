/**
 * The shapes of everything that comes in: socket frames from clients and domain events from the platform.
 * Types are inferred from these schemas, never written twice.
 */
import { z } from "zod";
import { type ClientFrameType, NOTIFICATION_TYPES } from "./protocol.ts";

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

// ---- Socket frames, client → server -------------------------------------------------------------------

const frameId = z.union([z.string().max(100), z.number()]).optional();
const positionsSchema = z.record(z.string().max(250), z.number().int().nonnegative()).refine(
  (p) => Object.keys(p).length <= 16,
  "too many streams",
);

/** The envelope every client frame shares; `data` is checked by the frame's own schema. */
export const clientEnvelopeSchema = z.object({
  type: z.string().max(64),
  id: frameId,
  data: z.unknown().optional(),
  timestamp: z.unknown().optional(),
});

const subscriptionTypes = z.array(z.union([notificationTypeSchema, z.literal("metrics")])).min(1).max(10);

/** Per frame type, the schema of its `data`. */
export const clientDataSchemas = {
  ping: z.unknown(),
  subscribe: z.object({ types: subscriptionTypes }),
  unsubscribe: z.object({ types: subscriptionTypes }),
  resume: z.object({ positions: positionsSchema }),
  ack: z.object({ ids: z.array(id).min(1).max(500) }),
  auth: z.object({ token: z.string().min(1).max(8192) }),
  user_message: z.strictObject({ toUserId: id, subject: text(200), content: text(5000) }),
  system_announcement: announcementSchema,
  admin_alert: adminAlertSchema,
  project_update: projectUpdateSchema,
  payment_update: paymentUpdateSchema,
} satisfies Record<ClientFrameType, z.ZodType>;

export type ClientData<T extends ClientFrameType> = z.infer<typeof clientDataSchemas[T]>;
