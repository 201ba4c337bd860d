/**
 * `GET /admin`: the live status panel, an island rendered by lib/page.tsx and hydrated from
 * `/islands/admin_panel_entry.js`. Signed in with the platform's session cookie `auth_token`: a 401 page
 * without a session (with a dev sign-in in demo mode), a 403 page for a client.
 */
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import type { ComponentChildren } from "preact";
import { renderToString } from "preact-render-to-string";
import AdminPanel, { type AdminPanelProps } from "../islands/AdminPanel.tsx";
import type { Identity } from "../lib/auth.ts";
import { DEMO_USERS } from "../lib/demo_users.ts";
import { renderIslandPage } from "../lib/page.tsx";
import { pageNonce } from "../middleware/security_headers.ts";
import type { Service } from "../lib/service.ts";
import type { AppEnv } from "./env.ts";
import { serviceHealth } from "./health.ts";

const STYLE = `
:root { font: 14px/1.4 system-ui, sans-serif; color: #1d2430; background: #f4f6f9; }
body { margin: 0; padding: 24px; }
.panel header, .notice { display: flex; gap: 12px; align-items: center; }
h1 { font-size: 20px; margin: 0 auto 0 0; }
h2 { font-size: 13px; font-weight: 600; margin: 0 0 6px; color: #5a6475; text-transform: uppercase; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; margin: 16px 0; }
.card { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px #0001; margin-bottom: 12px; }
.figure { font-size: 28px; font-weight: 600; margin: 0; font-variant-numeric: tabular-nums; }
.figure.small { font-size: 18px; }
.spark { width: 100%; height: 36px; color: #2f6fde; }
.muted { color: #7a8394; }
table { width: 100%; border-collapse: collapse; }
td, th { text-align: left; padding: 4px 8px; border-top: 1px solid #eef0f4; }
.agent { max-width: 240px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.link, .health { padding: 2px 8px; border-radius: 10px; font-size: 12px; background: #e4e7ec; }
.link-live, .health-healthy, .check-pass { color: #17753a; }
.health-degraded, .check-warn { color: #a86400; }
.link-offline, .health-unhealthy, .check-fail { color: #b3261e; }
.feed { list-style: none; margin: 0; padding: 0; max-height: 260px; overflow: auto; }
.feed li { padding: 2px 0; }
button { cursor: pointer; }
`;

/**
 * A plain page without an island: the 401 and 403 answers. An inline `script` runs only with the response's
 * CSP nonce (`pageNonce`).
 */
function plainPage(
  title: string,
  body: ComponentChildren,
  script?: { source: string; nonce: string },
): string {
  return `<!doctype html>${
    renderToString(
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{title}</title>
          <style dangerouslySetInnerHTML={{ __html: STYLE }} />
        </head>
        <body>
          {body}
          {script && (
            <script type="module" nonce={script.nonce} dangerouslySetInnerHTML={{ __html: script.source }} />
          )}
        </body>
      </html>,
    )
  }`;
}

/** Signs a demo user in through `POST /api/dev/session` (which sets the cookie), then reloads the page. */
const DEV_SIGN_IN = `
for (const button of document.querySelectorAll("button[data-user]")) {
  button.addEventListener("click", async () => {
    const res = await fetch("/api/dev/session", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: button.dataset.user }),
    });
    if (res.ok) location.reload();
  });
}`;

/** The 401 page; `nonce` is the response's CSP nonce, for the dev sign-in script. */
function signInPage(demo: boolean, nonce: string): string {
  return plainPage(
    "Sign in · JasaWeb Realtime",
    <main class="card">
      <h1>Sign in required</h1>
      <p>
        The status panel needs an admin's platform session (the <code>auth_token</code> cookie).
      </p>
      {demo && (
        <section>
          <h2>Development sign-in</h2>
          {DEMO_USERS.map((u) => (
            <p key={u.userId}>
              <button type="button" data-user={u.userId}>Sign in as {u.name} ({u.role})</button>
            </p>
          ))}
        </section>
      )}
    </main>,
    demo ? { source: DEV_SIGN_IN, nonce } : undefined,
  );
}

const forbiddenPage = (who: Identity) =>
  plainPage(
    "Forbidden · JasaWeb Realtime",
    <main class="card">
      <h1>Admins only</h1>
      <p>You are signed in as {who.name || who.userId}, a {who.role}; the status panel is for admins.</p>
    </main>,
  );

async function panelProps(service: Service, admin: Identity): Promise<AdminPanelProps> {
  const [status, connections, health] = await Promise.all([
    service.gauges.status(service.isolates, service.isolateId),
    service.registry.list(),
    serviceHealth(service),
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
    return c.html(signInPage(service.config.demo, pageNonce(c)), 401);
  }
  if (identity.role !== "admin") return c.html(forbiddenPage(identity), 403);
  return c.html(renderIslandPage({
    title: "Status · JasaWeb Realtime",
    island: AdminPanel,
    props: await panelProps(service, identity),
    entry: "islands/admin_panel_entry.tsx",
    head: `<style>${STYLE}</style>`,
  }));
});
