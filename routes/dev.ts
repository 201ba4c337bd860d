/**
 * Development sign-in: `POST /api/dev/session` with `{"userId": "client-budi"}` answers a session token for a
 * demo user and sets it as the `auth_token` cookie. Only mounted when demo mode is on (never in production).
 */
import { Hono } from "hono";
import { setCookie } from "hono/cookie";
import { z } from "zod";
import { ApiError } from "../lib/api_error.ts";
import { DEMO_USERS, signSessionToken } from "../lib/demo_users.ts";
import type { AppEnv } from "./env.ts";

const body = z.object({ userId: z.string() });

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
  });
