/** `POST /api/websocket/token`: a session buys a short-lived socket token. */
import { Hono } from "hono";
import type { AppEnv } from "../middleware/env.ts";
import { requireSession } from "../middleware/auth.ts";
import { apiRateLimit } from "../middleware/api_rate_limit.ts";

export const tokenRoutes = new Hono<AppEnv>().post(
  "/api/websocket/token",
  requireSession(),
  apiRateLimit(),
  async (c) => {
    const service = c.get("service");
    const { token, expiresAt } = await service.socketTokens.mint(c.get("identity"));
    const url = new URL(c.req.url);
    const forwardedProto = c.req.header("x-forwarded-proto");
    const secure = url.protocol === "https:" || forwardedProto === "https";
    return c.json({
      token,
      expiresAt: new Date(expiresAt).toISOString(),
      connectionUrl: `${secure ? "wss" : "ws"}://${c.req.header("host") ?? url.host}/ws`,
      maxConnections: service.config.rateLimitPerUser,
    });
  },
);
