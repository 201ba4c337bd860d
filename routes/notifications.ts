/** The notification API: list (cursor pages, unread filter), mark one read, mark all read. */
import { Hono } from "hono";
import { z } from "zod";
import { ApiError, issuesOf } from "../lib/api_error.ts";
import { CursorError } from "../lib/read_states.ts";
import type { AppEnv } from "../middleware/env.ts";
import { requireUser } from "../middleware/auth.ts";
import { apiRateLimit } from "../middleware/api_rate_limit.ts";

const listQuery = z.object({
  unread: z.enum(["1", "true", "0", "false"]).optional(),
  // Over 100 is taken as 100, as the contract says; anything that is not a positive integer is refused.
  limit: z.string().regex(/^\d{1,6}$/, "must be a positive integer").transform(Number).pipe(z.number().min(1))
    .optional(),
  cursor: z.string().max(2000).optional(),
});

export const notificationRoutes = new Hono<AppEnv>()
  // "/api/notifications/*" matches "/api/notifications" itself too: one use, so each request counts once.
  .use("/api/notifications/*", requireUser(), apiRateLimit())
  .get("/api/notifications", async (c) => {
    const query = listQuery.safeParse(c.req.query());
    if (!query.success) {
      throw new ApiError(422, "invalid_query", "Query parameters are not valid", issuesOf(query.error));
    }
    const { userId, role } = c.get("identity");
    try {
      const page = await c.get("service").listNotifications(userId, role, {
        unread: query.data.unread === "1" || query.data.unread === "true",
        limit: Math.min(query.data.limit ?? 20, 100),
        cursor: query.data.cursor,
      });
      return c.json(page);
    } catch (error) {
      if (error instanceof CursorError) {
        throw new ApiError(422, "invalid_query", "Query parameters are not valid", [
          { path: "cursor", message: error.message },
        ]);
      }
      throw error;
    }
  })
  .post("/api/notifications/read-all", async (c) => {
    const { userId, role } = c.get("identity");
    return c.json({ updated: await c.get("service").markAllRead(userId, role) });
  })
  .post("/api/notifications/:id/read", async (c) => {
    const { userId, role } = c.get("identity");
    const found = await c.get("service").markRead(userId, role, c.req.param("id"));
    if (!found) throw new ApiError(404, "not_found", "Notification not found");
    return c.body(null, 204);
  });
