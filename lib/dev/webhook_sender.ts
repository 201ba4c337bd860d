/**
 * The platform's side of a webhook: signs a domain event as Standard Webhooks does and posts it. The demo uses
 * it to send its sample events through the real, verified webhook path.
 */
import { signWebhook, webhookKeys } from "../webhook_signature.ts";

/** Posts `event` to `url` signed with `secret`; resolves with the receiver's answer. */
export async function sendSignedWebhook(url: string, secret: string, event: unknown): Promise<Response> {
  const [key] = webhookKeys([secret]);
  const id = `msg_${crypto.randomUUID()}`;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const body = new TextEncoder().encode(JSON.stringify(event));
  return await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": timestamp,
      "webhook-signature": signWebhook(key, id, timestamp, body),
    },
    body,
  });
}
