/**
 * `GET /demo` (dev only): the sample client dashboard with the widget, for whoever the
 * `auth_token` cookie says is signed in (a demo user, see `POST /api/dev/session`).
 */
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import type { Identity } from "../lib/auth.ts";
import { DEMO_USERS } from "../lib/dev/demo_users.ts";
import { DEMO_EVENT_KINDS, demoWorkspace } from "../lib/dev/demo_workspace.ts";
import { renderIslandPage } from "../lib/page.tsx";
import DemoDashboard from "../islands/DemoDashboard.tsx";
import type { AppEnv } from "../middleware/env.ts";

const DEMO_CSS = `<style>
  :root { color-scheme: light dark; --bg: #f5f7fa; --card: #fff; --fg: #1f2933; --muted: #616e7c; --line: #d9e2ec; }
  @media (prefers-color-scheme: dark) { :root { --bg: #15181f; --card: #1f2430; --fg: #e4e7eb; --muted: #9aa5b1; --line: #3e4c59; } }
  body { margin: 0; font: 15px/1.5 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
  header { display: flex; align-items: center; gap: 16px; padding: 12px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
  header jasaweb-notifications { --jw-panel-left: auto; --jw-panel-right: 0; }
  .brand { font-size: 18px; } .spacer { flex: 1; }
  main { max-width: 960px; margin: 0 auto; padding: 24px; }
  /* The widget's toasts stack in the bottom-right corner (300px wide, 16px in): on a wide screen the content
     keeps a 340px gutter clear of them; on a narrow one it can scroll clear of a full stack of three. */
  @media (min-width: 800px) { main { margin: 0 340px 0 max(0px, calc((100% - 340px - 1008px) / 2)); } }
  @media (max-width: 799.98px) { main { padding-bottom: 280px; } }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; margin: 16px 0; }
  h1 { font-size: 22px; } h2 { font-size: 16px; margin: 0 0 8px; }
  table { width: 100%; border-collapse: collapse; } th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); }
  .pill { padding: 2px 8px; border-radius: 999px; font-size: 12px; background: #e0e7ff; color: #1e3a8a; }
  .pill.completed, .pill.paid { background: #dcfce7; color: #14532d; } .pill.pending_payment, .pill.pending { background: #fef3c7; color: #78350f; }
  .buttons { display: flex; flex-wrap: wrap; gap: 8px; } .buttons button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid var(--line); background: var(--bg); color: inherit; cursor: pointer; }
  .hint { color: var(--muted); } .log { color: var(--muted); font: 12px/1.6 ui-monospace, monospace; padding-left: 16px; }
</style>
<script type="module" src="/widget.js"></script>`;

export const demoRoutes = new Hono<AppEnv>().get("/demo", async (c) => {
  const service = c.get("service");
  let current: Identity | null = null;
  try {
    current = await service.verifySession(getCookie(c, "auth_token"));
  } catch {
    // Not signed in (or an old cookie): the page offers the user switcher.
  }
  const html = renderIslandPage({
    title: "JasaWeb demo dashboard",
    island: DemoDashboard,
    props: {
      users: DEMO_USERS,
      current,
      dashboard: current ? demoWorkspace.dashboard(demoWorkspace.targetOf(current)) : null,
      eventKinds: DEMO_EVENT_KINDS,
    },
    entry: "islands/demo_dashboard_entry.tsx",
    head: DEMO_CSS,
  });
  return c.html(html);
});
