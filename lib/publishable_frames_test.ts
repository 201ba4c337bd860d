import assert from "node:assert/strict";
import type { Identity } from "./auth.ts";
import { clientDataSchemas } from "./client_frames.ts";
import { draftsFor } from "./events.ts";
import { eventOf, isPublishable, PUBLISHABLE_FRAMES, publishRefusal } from "./publishable_frames.ts";
import { domainEventSchema } from "./schemas.ts";

const admin: Identity = { userId: "a1", role: "admin", name: "Rina", email: "rina@x.test" };
const client: Identity = { userId: "c1", role: "client", name: "", email: "c1@x.test" };

/** A valid `data` for each publishable frame. */
const samples = {
  user_message: { toUserId: "admins", subject: "Hello", content: "Where is my invoice?" },
  system_announcement: { title: "Maintenance", message: "Tonight at 22:00", priority: "high" },
  admin_alert: { event: "disk", message: "Disk almost full", data: {}, requiresAction: true },
  project_update: {
    userId: "c1",
    projectId: "p1",
    projectName: "Toko Batik",
    oldStatus: "pending_payment",
    newStatus: "in_progress",
  },
  payment_update: {
    userId: "c1",
    invoiceId: "i1",
    projectId: "p1",
    projectName: "Toko Batik",
    amount: 1500000,
    status: "paid",
  },
} as const;

Deno.test("publishable frames: the table is what the client frame schemas check, frame by frame", () => {
  for (const [type, frame] of Object.entries(PUBLISHABLE_FRAMES)) {
    assert.equal(clientDataSchemas[type as keyof typeof PUBLISHABLE_FRAMES], frame.data, type);
  }
  assert.ok(isPublishable("admin_alert"));
  for (const type of ["ping", "subscribe", "auth", "toString", "__proto__"]) assert.ok(!isPublishable(type));
});

Deno.test("publishRefusal(): admins may send anything; clients only a user_message to the support inbox", () => {
  for (const [type, data] of Object.entries(samples)) {
    assert.equal(publishRefusal(admin, type as keyof typeof samples, data), null, type);
  }
  assert.equal(publishRefusal(admin, "user_message", { ...samples.user_message, toUserId: "c9" }), null);
  assert.equal(publishRefusal(client, "user_message", samples.user_message), null);
  assert.equal(
    publishRefusal(client, "user_message", { ...samples.user_message, toUserId: "c9" }),
    'Clients may only write to "admins"',
  );
  for (const type of ["system_announcement", "admin_alert", "project_update", "payment_update"] as const) {
    assert.equal(publishRefusal(client, type, samples[type]), `Unauthorized for message type: ${type}`);
  }
});

Deno.test("eventOf(): each frame becomes its table's domain event; a user_message is signed by its sender", () => {
  for (const [type, data] of Object.entries(samples)) {
    const frameType = type as keyof typeof samples;
    const event = eventOf(admin, frameType, PUBLISHABLE_FRAMES[frameType].data.parse(data));
    assert.equal(event.type, PUBLISHABLE_FRAMES[frameType].event);
    // The event passes the webhook's own schema, so a frame is stored exactly as that webhook would be.
    assert.deepEqual(domainEventSchema.parse(event), event);
    assert.ok(draftsFor(event).length > 0);
  }
  const fromClient = eventOf(client, "user_message", samples.user_message);
  assert.deepEqual(fromClient, {
    type: "message.sent",
    data: { ...samples.user_message, fromUserId: "c1", fromUserName: "c1" },
  });
  // A client cannot sign a message as someone else: the frame's schema has no sender fields.
  const forged = PUBLISHABLE_FRAMES.user_message.data.safeParse({
    ...samples.user_message,
    fromUserId: "a1",
  });
  assert.equal(forged.success, false);
  assert.deepEqual(eventOf(admin, "user_message", samples.user_message).data, {
    ...samples.user_message,
    fromUserId: "a1",
    fromUserName: "Rina",
  });
});
