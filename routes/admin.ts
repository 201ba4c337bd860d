/**
 * The admin API (README "Operations: admin API, health, metrics, logs"): `WebSocketMetrics` across every
 * isolate, every live connection, and a disconnect that reaches whichever isolate holds the socket. Admin
 * session only: 401 without one, 403 for a client.
 */
import { Hono } from "hono";
import { ApiError } from "../lib/api_error.ts";
import type { AppEnv } from "../middleware/env.ts";
import { requireAdmin } from "../middleware/auth.ts";

export const adminRoutes = new Hono<AppEnv>()
  .use("/api/admin/*", requireAdmin())
  .get("/api/admin/websocket/status", async (c) => c.json(await c.get("service").status()))
  .get("/api/admin/websocket/connections", async (c) => {
    // Records are `WebSocketConnectionDetails` plus `isolateId`, never a token: README
    // "GET /api/admin/websocket/connections".
    return c.json(await c.get("service").connections());
  })
  .delete("/api/admin/websocket/connections/:id", async (c) => {
    const id = c.req.param("id");
    if (!await c.get("service").disconnect(id)) throw new ApiError(404, "not_found", "Connection not found");
    return c.body(null, 204);
  });
