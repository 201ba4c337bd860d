import assert from "node:assert/strict";
import { DEMO_USERS } from "./demo_users.ts";
import { createDemoWorkspace } from "./demo_workspace.ts";
import { domainEventSchema } from "../schemas.ts";

const budi = DEMO_USERS.find((u) => u.userId === "client-budi")!;
const rina = DEMO_USERS.find((u) => u.role === "admin")!;

Deno.test("demoWorkspace.events() pays the invoice of a project waiting for payment and starts the project", () => {
  const workspace = createDemoWorkspace(() => Date.parse("2025-01-02T03:04:05Z"));
  const before = workspace.dashboard(budi.userId);
  const waiting = before.projects.find((p) => p.status === "pending_payment")!;
  assert.ok(waiting, "the seed has a project waiting for its payment");

  const events = workspace.events("invoice.status_changed", budi);
  assert.deepEqual(events.map((e) => e.type), ["invoice.status_changed", "project.status_changed"]);
  for (const event of events) assert.ok(domainEventSchema.safeParse(event).success, event.type);
  const [paid, started] = events.map((e) => e.data as Record<string, unknown>);
  assert.equal(paid.projectId, waiting.id);
  assert.equal(paid.status, "paid");
  assert.equal(paid.paidAt, "2025-01-02T03:04:05.000Z");
  assert.deepEqual(
    [started.projectId, started.oldStatus, started.newStatus, started.userId],
    [waiting.id, "pending_payment", "in_progress", budi.userId],
  );

  const after = workspace.dashboard(budi.userId);
  assert.equal(after.projects.find((p) => p.id === waiting.id)!.status, "in_progress");
  assert.equal(after.invoices.find((i) => i.projectId === waiting.id)!.status, "paid");
});

Deno.test("demoWorkspace.events(): no payment leaves its project pending payment, press after press", () => {
  const workspace = createDemoWorkspace();
  let payments = 0;
  for (let press = 0; press < 12; press++) {
    const kind = press % 3 === 0 ? "project.status_changed" : "invoice.status_changed";
    // An admin's presses act on client-budi's dashboard.
    const [first] = workspace.events(kind, rina);
    const data = first.data as { status?: string; projectId?: string };
    if (first.type !== "invoice.status_changed" || data.status !== "paid") continue;
    payments++;
    const project = workspace.dashboard(budi.userId).projects.find((p) => p.id === data.projectId)!;
    assert.notEqual(project.status, "pending_payment", `press ${press}`);
  }
  assert.ok(payments >= 3, `${payments} payments`);
});

Deno.test("demoWorkspace.events(): one event for every other kind, and a dashboard is a copy", () => {
  const workspace = createDemoWorkspace();
  for (
    const kind of ["project.status_changed", "announcement.published", "admin.alert", "message.sent"] as const
  ) {
    assert.equal(workspace.events(kind, budi).length, 1, kind);
  }
  const copy = workspace.dashboard(budi.userId);
  copy.projects[0].status = "changed";
  assert.notEqual(workspace.dashboard(budi.userId).projects[0].status, "changed");
});
