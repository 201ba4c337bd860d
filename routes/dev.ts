/**
 * Development sign-in: `POST /api/dev/session` with `{"userId": "client-budi"}` answers a session token for a
 * demo user and sets it as the `auth_token` cookie. For the `/demo` page: `GET /api/dev/dashboard` (the signed-in
 * user's sample projects and invoices) and `POST /api/dev/events` with `{"kind": "project.status_changed"}`,
 * which posts a sample event to this service's own webhook endpoint, signed with the first webhook secret.
 * Only mounted when demo mode is on (never in production).
 */
import { Hono } from "hono";
import { setCookie } from "hono/cookie";
import { z } from "zod";
import { ApiError } from "../lib/api_error.ts";
import { DEMO_USERS, signSessionToken } from "../lib/demo_users.ts";
import { DEMO_EVENT_KINDS, demoWorkspace } from "../lib/demo_workspace.ts";
import { sendSignedWebhook } from "../lib/webhook_sender.ts";
import type { AppEnv } from "./env.ts";
import { requireSession } from "./auth_middleware.ts";

const body = z.object({ userId: z.string() });
const eventBody = z.object({ kind: z.enum(DEMO_EVENT_KINDS) });

export const devRoutes = new Hono<AppEnv>()
  .get("/api/dev/users", (c) => c.json(DEMO_USERS))
  .post("/api/dev/session", async (c) => {
    const parsed = body.safeParse(await c.req.json().catch(() => null));
    const user = DEMO_USERS.find((u) => u.userId === parsed.data?.userId);
    if (!user) throw new ApiError(404, "not_found", "No such demo user");
    const { session } = c.get("service").config;
    const token = await signSessionToken(session.secret!, user, session);
    setCookie(c, "auth_token", token, { path: "/", httpOnly: true, sameSite: "Lax" });
    return c.json({ token, user });
  })
  .get("/api/dev/dashboard", requireSession(), (c) => {
    return c.json(demoWorkspace.dashboard(demoWorkspace.targetOf(c.get("identity"))));
  })
  .post("/api/dev/events", requireSession(), async (c) => {
    const parsed = eventBody.safeParse(await c.req.json().catch(() => null));
    if (!parsed.success) {
      throw new ApiError(422, "invalid_event", `kind must be one of ${DEMO_EVENT_KINDS.join(", ")}`);
    }
    const event = demoWorkspace.event(parsed.data.kind, c.get("identity"));
    // Through HTTP and the signature check, exactly as the platform's webhooks arrive.
    const url = new URL("/api/webhooks/events", c.req.url);
    const res = await sendSignedWebhook(url.href, c.get("service").config.webhookSecrets[0], event);
    return c.json({ event, webhook: { status: res.status, ...await res.json() } }, res.ok ? 200 : 502);
  });
