/**
 * `GET /ws`: the handshake rules of SPEC §5. The token and the limits are checked before the upgrade;
 * a refused socket is still upgraded and then closed with its code, so clients learn why. What happens to
 * the socket from then on is lib/socket_lifecycle.ts.
 */
import { Hono } from "hono";
import { ApiError } from "../lib/api_error.ts";
import { clientAddress } from "../lib/client_ip.ts";
import { handshakeToken } from "../lib/subprotocol.ts";
import { originAllowed, refuseOrigin } from "../middleware/origin_guard.ts";
import type { AppEnv } from "../middleware/env.ts";

export const wsRoutes = new Hono<AppEnv>().get("/ws", async (c) => {
  const service = c.get("service");
  const { config } = service;
  const req = c.req.raw;
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "This endpoint speaks WebSocket only");
  }
  const origin = req.headers.get("origin");
  if (origin && !originAllowed(c, origin)) throw refuseOrigin(c, { origin }, "websocket");
  // Everything needed from the request is read now: it cannot be read after the upgrade.
  const client = clientAddress(
    c.env?.remoteAddr?.hostname ?? "unknown",
    req.headers.get("x-forwarded-for"),
    config.trustedProxies,
  );
  if (!client.ok) throw new ApiError(400, "invalid_forwarded_for", client.reason);
  // One string for the limit, the record and the release: an IPv6 client is its /64 throughout.
  const ip = client.limitKey;
  const userAgent = (req.headers.get("user-agent") ?? "").slice(0, 300);
  const { token, protocol } = handshakeToken(req.headers.get("sec-websocket-protocol"), req.url);
  const admission = await service.admit(token, { clientIp: ip, userAgent });

  let upgrade: ReturnType<typeof Deno.upgradeWebSocket>;
  try {
    upgrade = Deno.upgradeWebSocket(req, { idleTimeout: service.socketIdleTimeoutSeconds });
  } catch {
    // A malformed upgrade (no Sec-WebSocket-Key, say) never opens nor closes a socket: give its places back
    // here, or a token holder could use up the places of a user or an IP with requests that fail.
    service.abandon(admission.connectionId);
    throw new ApiError(400, "bad_upgrade", "The WebSocket upgrade request is malformed");
  }
  const { socket, response } = upgrade;
  service.serveSocket(socket, admission);
  if (protocol) response.headers.set("sec-websocket-protocol", protocol);
  return response;
});
