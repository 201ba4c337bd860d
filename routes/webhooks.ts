/**
 * `POST /api/webhooks/events`: a signed domain event in, notifications durably stored, then 202.
 * Nothing is acknowledged before the KV commit, and a repeated `webhook-id` delivers nothing twice.
 */
import { Hono } from "hono";
import { ApiError, issuesOf } from "../lib/api_error.ts";
import { parseSafeJson } from "../lib/safe_json.ts";
import { NotificationTooLargeError } from "../lib/notification_size.ts";
import { domainEventSchema } from "../lib/schemas.ts";
import { verifyWebhook, webhookKeys } from "../lib/webhook_signature.ts";
import type { AppEnv } from "../middleware/env.ts";
import { readBodyLimited } from "../middleware/body_limit.ts";

export function webhookRoutes(secrets: readonly string[]) {
  const keys = webhookKeys(secrets);
  return new Hono<AppEnv>().post("/api/webhooks/events", async (c) => {
    const service = c.get("service");
    const count = (status: string) => service.metrics.inc("realtime_webhooks_total", { status });
    const id = c.req.header("webhook-id");
    const timestamp = c.req.header("webhook-timestamp");
    const signature = c.req.header("webhook-signature");
    if (!id || !timestamp || !signature || id.length > 256) {
      count("bad_request");
      throw new ApiError(
        400,
        "missing_headers",
        "webhook-id, webhook-timestamp and webhook-signature are required",
      );
    }
    const body = await readBodyLimited(c.req.raw, service.config.messageSizeLimit).catch((error) => {
      count("too_large");
      throw error;
    });
    const verdict = verifyWebhook(keys, { id, timestamp, signature }, body, service.now() / 1000);
    if (verdict !== "ok") {
      count("invalid_signature");
      throw new ApiError(401, "invalid_signature", "Webhook signature or timestamp is not valid");
    }
    const json = parseSafeJson(new TextDecoder().decode(body));
    if (!json.ok) {
      count("invalid");
      throw new ApiError(422, "invalid_event", "Body is not acceptable JSON", [{
        path: "",
        message: json.reason,
      }]);
    }
    const event = domainEventSchema.safeParse(json.value);
    if (!event.success) {
      count("invalid");
      throw new ApiError(422, "invalid_event", "Event does not match its schema", issuesOf(event.error));
    }
    const result = await service.publishEvent(event.data, id).catch((error) => {
      // Refused before anything was stored (the id stays unused): a 4xx, so the sender stops retrying.
      if (!(error instanceof NotificationTooLargeError)) throw error;
      count("too_large");
      throw new ApiError(413, "payload_too_large", error.message);
    });
    if (result.duplicate) {
      count("duplicate");
      return c.json({ id, duplicate: true }, 200);
    }
    count("accepted");
    return c.json({
      id,
      notifications: result.notifications.map(({ id, stream, seq }) => ({ id, stream, seq })),
      delivered: result.delivered,
    }, 202);
  });
}
