/** `POST /api/websocket/token`: a session buys a short-lived socket token. */
import { Hono } from "hono";
import type { AppEnv } from "../middleware/env.ts";
import { requireSession } from "../middleware/auth.ts";
import { apiRateLimit } from "../middleware/api_rate_limit.ts";
import { requestFacts } from "../middleware/origin_guard.ts";
import { requestSite } from "../lib/origins.ts";

export const tokenRoutes = new Hono<AppEnv>().post(
  "/api/websocket/token",
  requireSession(),
  apiRateLimit(),
  async (c) => {
    const service = c.get("service");
    const { token, expiresAt } = await service.socketTokens.mint(c.get("identity"));
    // Where the browser addressed this service, as the origin policy reads it (forwarded from trusted proxies).
    const site = requestSite(requestFacts(c), service.config.trustedProxies);
    return c.json({
      token,
      expiresAt: new Date(expiresAt).toISOString(),
      connectionUrl: `${site.protocol === "https:" ? "wss" : "ws"}://${
        site.host ?? new URL(c.req.url).host
      }/ws`,
      maxConnections: service.config.rateLimitPerUser,
    });
  },
);
