import assert from "node:assert/strict";
import { draftsFor } from "./events.ts";

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
