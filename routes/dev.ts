/**
 * Development sign-in: `POST /api/dev/session` with `{"userId": "client-budi"}` answers a session token for a
 * demo user and sets it as the `auth_token` cookie (422 for a missing or malformed body, 404 for an unknown
 * user). For the `/demo` page: `GET /api/dev/dashboard` (the signed-in user's sample projects and invoices) and
 * `POST /api/dev/events` with `{"kind": "project.status_changed"}`, which posts the sample events of that kind
 * to this service's own webhook endpoint, signed with the first webhook secret, and answers each webhook's
 * status and body. Only mounted when demo mode is on (never in production).
 */
import { type Context, Hono } from "hono";
import { setCookie } from "hono/cookie";
import { z } from "zod";
import { ApiError, issuesOf } from "../lib/api_error.ts";
import { DEMO_USERS, signSessionToken } from "../lib/dev/demo_users.ts";
import { DEMO_EVENT_KINDS, demoWorkspace } from "../lib/dev/demo_workspace.ts";
import { parseSafeJson } from "../lib/safe_json.ts";
import { sendSignedWebhook } from "../lib/dev/webhook_sender.ts";
import type { AppEnv } from "../middleware/env.ts";
import { requireSession } from "../middleware/auth.ts";
import { readBodyLimited } from "../middleware/body_limit.ts";

const sessionBody = z.object({ userId: z.string().min(1).max(128) });
const eventBody = z.object({ kind: z.enum(DEMO_EVENT_KINDS) });

/** The request's JSON body, read within the message size limit, parsed by `schema`; 422 with issues if not. */
async function parseBody<T>(c: Context<AppEnv>, schema: z.ZodType<T>): Promise<T> {
  const bytes = await readBodyLimited(c.req.raw, c.get("service").config.messageSizeLimit);
  const json = parseSafeJson(new TextDecoder().decode(bytes));
  if (!json.ok) {
    throw new ApiError(422, "invalid_body", "Body is not acceptable JSON", [{
      path: "",
      message: json.reason,
    }]);
  }
  const parsed = schema.safeParse(json.value);
  if (!parsed.success) {
    throw new ApiError(422, "invalid_body", "Body does not match its schema", issuesOf(parsed.error));
  }
  return parsed.data;
}

export const devRoutes = new Hono<AppEnv>()
  .get("/api/dev/users", (c) => c.json(DEMO_USERS))
  .post("/api/dev/session", async (c) => {
    const { userId } = await parseBody(c, sessionBody);
    const user = DEMO_USERS.find((u) => u.userId === userId);
    if (!user) throw new ApiError(404, "not_found", `No such demo user "${userId}"`);
    const { session } = c.get("service").config;
    const token = await signSessionToken(session.secret!, user, session);
    setCookie(c, "auth_token", token, { path: "/", httpOnly: true, sameSite: "Lax" });
    return c.json({ token, user });
  })
  .get("/api/dev/dashboard", requireSession(), (c) => {
    return c.json(demoWorkspace.dashboard(demoWorkspace.targetOf(c.get("identity"))));
  })
  .post("/api/dev/events", requireSession(), async (c) => {
    const { kind } = await parseBody(c, eventBody);
    const events = demoWorkspace.events(kind, c.get("identity"));
    // Through HTTP and the signature check, exactly as the platform's webhooks arrive, one after the other.
    const url = new URL("/api/webhooks/events", c.req.url);
    const sent = [];
    for (const event of events) {
      const res = await sendSignedWebhook(url.href, c.get("service").config.webhookSecrets[0], event);
      sent.push({ event, webhook: { status: res.status, ...await res.json() } });
      if (!res.ok) break;
    }
    return c.json({ sent }, sent.every((s) => s.webhook.status < 300) ? 200 : 502);
  });
