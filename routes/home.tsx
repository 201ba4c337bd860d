/**
 * `GET /`: a small landing page. In demo mode (development) it links the demo dashboard, the status panel and
 * the health report; otherwise it says what the service is and where its health lives. Plain HTML, no script.
 */
import { Hono } from "hono";
import { renderPlainPage } from "../lib/page.tsx";
import type { AppEnv } from "../middleware/env.ts";
import { PAGE_STYLE } from "./page_style.ts";

function DevelopmentLinks() {
  return (
    <>
      <p>The development server is running. Try it out:</p>
      <ul>
        <li>
          <a href="/demo">Demo dashboard</a>: a sample client dashboard with the notification widget, and
          buttons that send domain events through the signed webhook path.
        </li>
        <li>
          <a href="/admin">Status panel</a>: live connections and figures (sign in as the demo admin).
        </li>
        <li>
          <a href="/health">Health</a>: the JSON health report.
        </li>
      </ul>
    </>
  );
}

function ServiceSummary() {
  return (
    <>
      <p>
        The real-time notification service of the JasaWeb platform: browsers hold a WebSocket at{" "}
        <code>/ws</code>, and the platform posts signed webhooks to <code>/api/webhooks/events</code>.
      </p>
      <p>
        Health: <a href="/health">/health</a> (JSON; 503 when unhealthy). Metrics for Prometheus:{" "}
        <code>/metrics</code>. Administrators: the <a href="/admin">status panel</a>.
      </p>
    </>
  );
}

export const homeRoutes = new Hono<AppEnv>().get("/", (c) => {
  const demo = c.get("service").config.demo;
  return c.html(renderPlainPage({
    title: "JasaWeb Realtime",
    head: PAGE_STYLE,
    body: (
      <main class="card page">
        <h1>JasaWeb Realtime{demo ? " (development)" : ""}</h1>
        {demo ? <DevelopmentLinks /> : <ServiceSummary />}
      </main>
    ),
  }));
});
