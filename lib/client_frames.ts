/**
 * The schema of each client frame's `data` (the frame types are the protocol's, lib/protocol.ts): the control
 * frames here, the frames that publish a domain event from their table (lib/publishable_frames.ts).
 */
import { z } from "zod";
import type { ClientFrameType } from "./protocol.ts";
import { PUBLISHABLE_FRAMES, type PublishableFrameType } from "./publishable_frames.ts";
import { notificationTypeSchema } from "./schemas.ts";

const frameId = z.union([z.string().max(100), z.number()]).optional();
const positionsSchema = z.record(z.string().max(250), z.number().int().nonnegative()).refine(
  (p) => Object.keys(p).length <= 16,
  "too many streams",
);
const subscriptionTypes = z.array(z.union([notificationTypeSchema, z.literal("metrics")])).min(1).max(10);
const notificationId = z.string().min(1).max(200);

/** The envelope every client frame shares; `data` is checked by the frame's own schema. */
export const clientEnvelopeSchema = z.object({
  type: z.string().max(64),
  id: frameId,
  data: z.unknown().optional(),
  timestamp: z.unknown().optional(),
});

const controlDataSchemas = {
  ping: z.unknown(),
  subscribe: z.object({ types: subscriptionTypes }),
  unsubscribe: z.object({ types: subscriptionTypes }),
  resume: z.object({ positions: positionsSchema }),
  ack: z.object({ ids: z.array(notificationId).min(1).max(500) }),
  auth: z.object({ token: z.string().min(1).max(8192) }),
};

const publishableDataSchemas = Object.fromEntries(
  Object.entries(PUBLISHABLE_FRAMES).map(([type, frame]) => [type, frame.data]),
) as { [T in PublishableFrameType]: typeof PUBLISHABLE_FRAMES[T]["data"] };

/** Per client frame type, the schema of its `data`: one for every frame type of the protocol. */
export const clientDataSchemas = { ...controlDataSchemas, ...publishableDataSchemas } satisfies Record<
  ClientFrameType,
  z.ZodType
>;

/** Whether a frame type is one a client may send. */
export function isClientFrameType(type: string): type is ClientFrameType {
  return Object.hasOwn(clientDataSchemas, type);
}
