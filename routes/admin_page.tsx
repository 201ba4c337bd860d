/**
 * `GET /admin`: the live status panel, an island rendered by lib/page.tsx and hydrated from
 * `/islands/admin_panel_entry.js`. Signed in with the platform's session cookie `auth_token`: a 401 page
 * without a session (offering a sign-in as any demo user in demo mode), a 403 page for a client (offering a
 * sign-in as an admin in demo mode).
 */
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import AccessNotice, { type AccessNoticeProps } from "../islands/AccessNotice.tsx";
import AdminPanel, { type AdminPanelProps } from "../islands/AdminPanel.tsx";
import type { Identity } from "../lib/auth.ts";
import { DEMO_USERS } from "../lib/dev/demo_users.ts";
import { renderIslandPage, renderPlainPage } from "../lib/page.tsx";
import type { Service } from "../lib/service.ts";
import type { AppEnv } from "../middleware/env.ts";
import { PAGE_STYLE } from "./page_style.ts";

/** The 401 and 403 pages: an island when there are demo users to sign in as, plain HTML otherwise. */
function accessPage(title: string, props: AccessNoticeProps): string {
  if (props.signInAs.length === 0) {
    return renderPlainPage({ title, body: <AccessNotice {...props} />, head: PAGE_STYLE });
  }
  return renderIslandPage({
    title,
    island: AccessNotice,
    props,
    entry: "islands/access_notice_entry.tsx",
    head: PAGE_STYLE,
  });
}

const signInPage = (demo: boolean) =>
  accessPage("Sign in · JasaWeb Realtime", {
    heading: "Sign in required",
    message: "The status panel needs an admin's platform session (the auth_token cookie).",
    signInAs: demo ? DEMO_USERS : [],
  });

const forbiddenPage = (who: Identity, demo: boolean) =>
  accessPage("Forbidden · JasaWeb Realtime", {
    heading: "Admins only",
    message: `You are signed in as ${who.name || who.userId}, a ${who.role}; the status panel is for admins.`,
    signInAs: demo ? DEMO_USERS.filter((u) => u.role === "admin") : [],
  });

async function panelProps(service: Service, admin: Identity): Promise<AdminPanelProps> {
  const [status, connections, health] = await Promise.all([
    service.status(),
    service.connections(),
    service.health(),
  ]);
  return {
    status,
    connections,
    health: { status: health.status, checks: health.checks },
    adminName: admin.name || admin.userId,
  };
}

export const adminPageRoutes = new Hono<AppEnv>().get("/admin", async (c) => {
  const service = c.get("service");
  c.header("cache-control", "no-store");
  let identity: Identity;
  try {
    identity = await service.verifySession(getCookie(c, "auth_token"));
  } catch {
    return c.html(signInPage(service.config.demo), 401);
  }
  if (identity.role !== "admin") return c.html(forbiddenPage(identity, service.config.demo), 403);
  return c.html(renderIslandPage({
    title: "Status · JasaWeb Realtime",
    island: AdminPanel,
    props: await panelProps(service, identity),
    entry: "islands/admin_panel_entry.tsx",
    head: PAGE_STYLE,
  }));
});
