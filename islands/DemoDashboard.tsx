/**
 * The `/demo` page: a sample JasaWeb client dashboard (projects, invoices) with the notification widget, a
 * demo-user switcher, and buttons that send each kind of domain event through the real signed webhook path.
 * It refreshes its data when a `project_update` (or `payment_update`) arrives: README "Islands and the demo".
 */
import { type ComponentChildren, h } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Identity } from "../lib/auth.ts";
import type { DemoDashboardData, DemoEventKind } from "../lib/dev/demo_workspace.ts";
import { devSignIn } from "./dev_sign_in.ts";

export interface DemoDashboardProps {
  users: readonly Identity[];
  current: Identity | null;
  dashboard: DemoDashboardData | null;
  eventKinds: readonly DemoEventKind[];
}

const rupiah = (amount: number) =>
  new Intl.NumberFormat("id-ID", { style: "currency", currency: "IDR", maximumFractionDigits: 0 }).format(
    amount,
  );

const label = (status: string) => status.replace(/_/g, " ");

function Table({ columns, children }: { columns: readonly string[]; children: ComponentChildren }) {
  return (
    <table>
      <thead>
        <tr>{columns.map((c) => <th key={c}>{c}</th>)}</tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

function StatusCell({ status }: { status: string }) {
  return (
    <td>
      <span class={`pill ${status}`}>{label(status)}</span>
    </td>
  );
}

async function postJson(url: string, body: unknown): Promise<Response> {
  return await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify(body),
  });
}

interface SentEvent {
  event: { type: string };
  webhook: { status: number; delivered?: number; duplicate?: boolean; error?: { message: string } };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function describeSent({ event, webhook }: SentEvent): string {
  const outcome = webhook.error
    ? webhook.error.message
    : webhook.duplicate
    ? "duplicate, nothing delivered"
    : `delivered to ${plural(webhook.delivered ?? 0, "socket")}`;
  return `Sent ${event.type} → webhook ${webhook.status} (${outcome})`;
}

/** The demo dashboard island. */
export default function DemoDashboard({ users, current, dashboard, eventKinds }: DemoDashboardProps) {
  const [data, setData] = useState(dashboard);
  const [log, setLog] = useState<string[]>([]);
  const note = (line: string) =>
    setLog((lines) => [`${new Date().toLocaleTimeString()}  ${line}`, ...lines].slice(0, 8));

  useEffect(() => {
    const refresh = async () => {
      const res = await fetch("/api/dev/dashboard", { credentials: "same-origin" });
      if (res.ok) setData(await res.json());
    };
    const onNotification = (event: Event) => {
      const frame = (event as CustomEvent<{ type: string; title: string }>).detail;
      note(`Received ${frame.type}: ${frame.title}`);
      if (frame.type === "project_update" || frame.type === "payment_update") refresh();
    };
    document.addEventListener("realtime:notification", onNotification);
    return () => document.removeEventListener("realtime:notification", onNotification);
  }, []);

  async function signIn(userId: string) {
    const failure = await devSignIn(userId);
    if (failure) note(`Sign-in failed (${failure})`);
  }

  async function send(kind: DemoEventKind) {
    const res = await postJson("/api/dev/events", { kind });
    const body: { sent?: SentEvent[] } = await res.json().catch(() => ({}));
    // Each webhook's own answer (202 accepted, 200 duplicate, or an error), not this endpoint's status.
    if (!body.sent?.length) return note(`${kind} failed (${res.status})`);
    for (const sent of body.sent) note(describeSent(sent));
  }

  return (
    <div class="app">
      <header>
        <strong class="brand">JasaWeb</strong>
        <span class="spacer" />
        <label>
          Signed in as{" "}
          <select
            value={current?.userId ?? ""}
            onChange={(e) => signIn((e.target as HTMLSelectElement).value)}
            aria-label="Demo user"
          >
            {!current && <option value="">choose a demo user…</option>}
            {users.map((u) => <option key={u.userId} value={u.userId}>{u.name} ({u.role})</option>)}
          </select>
        </label>
        {current && h("jasaweb-notifications", {})}
      </header>
      {!current || !data
        ? (
          <main>
            <p class="hint">Choose a demo user above to open their dashboard and its live notifications.</p>
          </main>
        )
        : (
          <main>
            <h1>Welcome, {current.name}</h1>
            {current.role === "admin" && (
              <p class="hint">Admins see client-budi's projects here; their own feed adds admin alerts.</p>
            )}
            <section>
              <h2>Projects</h2>
              <Table columns={["Project", "Status"]}>
                {data.projects.map((p) => (
                  <tr key={p.id} data-project-id={p.id}>
                    <td>{p.name}</td>
                    <StatusCell status={p.status} />
                  </tr>
                ))}
              </Table>
            </section>
            <section>
              <h2>Invoices</h2>
              <Table columns={["Invoice", "Project", "Amount", "Status"]}>
                {data.invoices.map((i) => (
                  <tr key={i.id} data-invoice-id={i.id}>
                    <td>{i.id}</td>
                    <td>{i.projectName}</td>
                    <td>{rupiah(i.amount)}</td>
                    <StatusCell status={i.status} />
                  </tr>
                ))}
              </Table>
            </section>
            <section>
              <h2>Send a sample event</h2>
              <p class="hint">Each button posts a signed webhook to this service, as the platform would.</p>
              <div class="buttons">
                {eventKinds.map((kind) => (
                  <button
                    type="button"
                    key={kind}
                    data-event={kind}
                    onClick={() => send(kind)}
                  >
                    {kind}
                  </button>
                ))}
              </div>
              <ul class="log" aria-live="polite">
                {log.map((line, i) => <li key={i}>{line}</li>)}
              </ul>
            </section>
          </main>
        )}
    </div>
  );
}
