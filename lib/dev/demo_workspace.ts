/**
 * Development only: the sample JasaWeb workspace behind `/demo` (each demo client's projects and invoices,
 * kept in memory) and the sample domain events its buttons send. An event also moves the workspace on (a
 * project advances, an invoice gets paid and its project starts), so the dashboard has something to refresh.
 */
import type { Identity } from "../auth.ts";
import type { DomainEvent } from "../schemas.ts";

export const DEMO_EVENT_KINDS = [
  "project.status_changed",
  "invoice.status_changed",
  "announcement.published",
  "admin.alert",
  "message.sent",
] as const;
export type DemoEventKind = typeof DEMO_EVENT_KINDS[number];

export interface DemoProject {
  id: string;
  name: string;
  status: string;
}

export interface DemoInvoice {
  id: string;
  projectId: string;
  projectName: string;
  amount: number;
  status: string;
}

export interface DemoDashboardData {
  projects: DemoProject[];
  invoices: DemoInvoice[];
}

/** The order a demo project moves through, wrapping round. */
const PROJECT_STATUSES = ["pending_payment", "in_progress", "review", "completed"];
/** Whose dashboard an admin's buttons change: admins have no projects of their own. */
const DEFAULT_CLIENT = "client-budi";

function seed(userId: string): DemoDashboardData {
  const tag = userId.replace(/[^a-z0-9]/gi, "").slice(-6);
  const projects = [
    { id: `p-${tag}-1`, name: "Toko Batik", status: "in_progress" },
    { id: `p-${tag}-2`, name: "Kopi Nusantara", status: "pending_payment" },
    { id: `p-${tag}-3`, name: "Klinik Sehat", status: "review" },
  ];
  return {
    projects,
    invoices: projects.map((p, i) => ({
      id: `inv-${tag}-${i + 1}`,
      projectId: p.id,
      projectName: p.name,
      amount: [1_500_000, 2_750_000, 4_200_000][i],
      status: i === 0 ? "paid" : "pending",
    })),
  };
}

/** Creates an in-memory workspace; one per process is plenty for a demo. */
export function createDemoWorkspace(now: () => number = Date.now) {
  const byUser = new Map<string, DemoDashboardData>();
  const rounds = new Map<string, number>();

  function data(userId: string): DemoDashboardData {
    let found = byUser.get(userId);
    if (!found) byUser.set(userId, found = seed(userId));
    return found;
  }

  function round(userId: string): number {
    const n = rounds.get(userId) ?? 0;
    rounds.set(userId, n + 1);
    return n;
  }

  return {
    /** The projects and invoices a demo user's dashboard shows (copies). */
    dashboard(userId: string): DemoDashboardData {
      return structuredClone(data(userId));
    },

    /** The client a demo user's buttons act for: themselves if a client, else the default client. */
    targetOf(actor: Identity): string {
      return actor.role === "client" ? actor.userId : DEFAULT_CLIENT;
    },

    /**
     * The sample domain events one press of a `kind` button sends, in order, as the platform would post them;
     * the workspace is updated to match. Usually one event; paying the invoice of a project that waits for
     * its payment also moves that project on (`pending_payment` → `in_progress`), so a second event,
     * `project.status_changed`, follows, as the platform would send it.
     */
    events(kind: DemoEventKind, actor: Identity): DomainEvent[] {
      const userId = this.targetOf(actor);
      const n = round(userId);
      const { projects, invoices } = data(userId);
      const advance = (project: DemoProject, newStatus: string): DomainEvent => {
        const oldStatus = project.status;
        project.status = newStatus;
        return {
          type: "project.status_changed",
          data: {
            userId,
            projectId: project.id,
            projectName: project.name,
            oldStatus,
            newStatus,
            updatedBy: actor.name,
          },
        };
      };
      switch (kind) {
        case "project.status_changed": {
          const project = projects[n % projects.length];
          const next = (PROJECT_STATUSES.indexOf(project.status) + 1) % PROJECT_STATUSES.length;
          return [advance(project, PROJECT_STATUSES[next])];
        }
        case "invoice.status_changed": {
          const projectOf = (invoice: DemoInvoice) => projects.find((p) => p.id === invoice.projectId);
          const unpaid = invoices.filter((i) => i.status !== "paid");
          // A payment that unblocks a project first; with every invoice paid, one is billed again.
          const invoice = unpaid.find((i) => projectOf(i)?.status === "pending_payment") ?? unpaid[0] ??
            invoices[n % invoices.length];
          invoice.status = invoice.status === "paid" ? "pending" : "paid";
          const paid: DomainEvent = {
            type: kind,
            data: {
              userId,
              invoiceId: invoice.id,
              projectId: invoice.projectId,
              projectName: invoice.projectName,
              amount: invoice.amount,
              status: invoice.status,
              ...(invoice.status === "paid" ? { paidAt: new Date(now()).toISOString() } : {}),
            },
          };
          const project = projectOf(invoice);
          if (invoice.status !== "paid" || project?.status !== "pending_payment") return [paid];
          return [paid, advance(project, "in_progress")];
        }
        case "announcement.published":
          return [{
            type: kind,
            data: {
              title: "Scheduled maintenance",
              message: "The client dashboard will be read-only tonight from 22:00 to 23:00 WIB.",
              priority: "medium",
            },
          }];
        case "admin.alert":
          return [{
            type: kind,
            data: {
              event: "demo_alert",
              message: `Demo alert #${n + 1}: a deployment needs a look`,
              data: { source: "demo" },
              requiresAction: false,
            },
          }];
        case "message.sent":
          return [{
            type: kind,
            data: {
              fromUserId: "admin-rina",
              fromUserName: "Rina (JasaWeb admin)",
              toUserId: userId,
              subject: "Your design review",
              content: "The homepage mock-ups are ready for your comments.",
            },
          }];
      }
    },
  };
}

export type DemoWorkspace = ReturnType<typeof createDemoWorkspace>;

/** The process's demo workspace, shared by `/demo` and the dev endpoints. */
export const demoWorkspace: DemoWorkspace = createDemoWorkspace();
