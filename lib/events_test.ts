import assert from "node:assert/strict";
import { draftsFor } from "./events.ts";
import type { NotificationDraft } from "./notifications.ts";
import { notificationData } from "./notification_view.ts";

Deno.test("draftsFor() maps each domain event to its streams, types and sentences", () => {
  const project = draftsFor({
    type: "project.status_changed",
    data: {
      userId: "u1",
      projectId: "p1",
      projectName: "Toko Batik",
      oldStatus: "pending_payment",
      newStatus: "in_progress",
      updatedBy: "Rina",
    },
  });
  assert.deepEqual(project.map((d) => [d.stream, d.type]), [["user:u1", "project_update"], [
    "role:admin",
    "admin_alert",
  ]]);
  assert.equal(project[0].title, 'Project "Toko Batik" status changed to in_progress');
  assert.equal(project[0].message, "Moved from pending_payment to in_progress by Rina.");
  assert.equal(project[1].data.event, "project_status_change");
  assert.equal(project[1].message, 'Project "Toko Batik" status changed to in_progress by Rina');

  const [payment] = draftsFor({
    type: "invoice.status_changed",
    data: {
      userId: "u1",
      invoiceId: "i1",
      projectId: "p1",
      projectName: "Toko Batik",
      amount: 1500000,
      status: "paid",
    },
  });
  assert.equal(payment.message, 'Payment of Rp 1.500.000 for "Toko Batik" paid successfully');
  assert.equal(payment.stream, "user:u1");

  const [announcement] = draftsFor({
    type: "announcement.published",
    data: { title: "Hi", message: "All", priority: "high" },
  });
  assert.equal(announcement.stream, "all");

  const [toAdmins] = draftsFor({
    type: "message.sent",
    data: { fromUserId: "u1", fromUserName: "Budi", toUserId: "admins", subject: "Help", content: "?" },
  });
  assert.equal(toAdmins.stream, "role:admin");
  assert.equal(toAdmins.type, "user_message");
});

Deno.test("draftsFor() keeps each message once; notificationData() puts the message back into data", () => {
  const shown = (draft: NotificationDraft) =>
    notificationData({ ...draft, id: "n1", seq: 1, createdAt: new Date(0).toISOString() });
  const project = {
    userId: "u1",
    projectId: "p1",
    projectName: "Toko Batik",
    oldStatus: "pending_payment",
    newStatus: "in_progress",
    message: "Design approved",
  };
  const [toUser, toAdmins] = draftsFor({ type: "project.status_changed", data: project });
  assert.equal(toUser.message, "Design approved");
  assert.equal("message" in toUser.data, false);
  const { userId: _, ...projectData } = project;
  assert.deepEqual(shown(toUser), projectData);
  assert.equal("message" in toAdmins.data, false);
  assert.deepEqual(shown(toAdmins), {
    event: "project_status_change",
    message: 'Project "Toko Batik" status changed to in_progress',
    data: project,
    requiresAction: false,
  });
  // Without a message of its own, the project's notification writes one and its data has none.
  const { message: __, ...quiet } = project;
  const [generated] = draftsFor({ type: "project.status_changed", data: quiet });
  assert.equal(generated.message, "Moved from pending_payment to in_progress.");
  assert.equal(generated.messageField, undefined);
  const { userId: ___, ...quietData } = quiet;
  assert.deepEqual(shown(generated), quietData);

  const events = [
    { type: "announcement.published", data: { title: "Hi", message: "All", priority: "high" } },
    {
      type: "admin.alert",
      data: { event: "disk", message: "Full", data: { free: 1 }, requiresAction: true },
    },
    {
      type: "message.sent",
      data: { fromUserId: "u1", fromUserName: "Budi", toUserId: "admins", subject: "Help", content: "Hello" },
    },
  ] as const;
  for (const event of events) {
    const [draft] = draftsFor(event);
    const field = event.type === "message.sent" ? "content" : "message";
    assert.equal(field in draft.data, false, event.type);
    assert.equal(draft.messageField, field);
    assert.deepEqual(shown(draft), event.data, event.type);
  }
});
