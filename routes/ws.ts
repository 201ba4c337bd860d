/**
 * `GET /ws`: the handshake rules of SPEC §5. The token and the limits are checked before the upgrade;
 * a refused socket is still upgraded and then closed with its code, so clients learn why.
 */
import { Hono } from "hono";
import { ApiError } from "../lib/api_error.ts";
import { clientIp } from "../lib/client_ip.ts";
import { CLOSE } from "../lib/close_codes.ts";
import { handshakeToken } from "../lib/subprotocol.ts";
import type { AppEnv } from "./env.ts";

export const wsRoutes = new Hono<AppEnv>().get("/ws", async (c) => {
  const service = c.get("service");
  const { config } = service;
  const req = c.req.raw;
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "This endpoint speaks WebSocket only");
  }
  const origin = req.headers.get("origin");
  if (origin && !config.allowedOrigins.includes(origin)) {
    throw new ApiError(403, "origin_not_allowed", `Origin "${origin}" is not allowed`);
  }
  // Everything needed from the request is read now: it cannot be read after the upgrade.
  const ip = clientIp(
    c.env?.remoteAddr?.hostname ?? "unknown",
    req.headers.get("x-forwarded-for"),
    config.trustedProxies,
  );
  const userAgent = (req.headers.get("user-agent") ?? "").slice(0, 300);
  const { token, protocol } = handshakeToken(req.headers.get("sec-websocket-protocol"), new URL(req.url));
  const admission = await service.admit(token, ip);

  // Deno's idle timeout pings after half of it in silence and closes 1001 after all of it.
  const idleTimeout = Math.max(
    1,
    Math.min(config.connectionTimeoutMs, 2 * config.heartbeatIntervalMs) / 1000,
  );
  const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout });
  if (protocol) response.headers.set("sec-websocket-protocol", protocol);
  socket.onopen = () => {
    if (admission.refusal || !admission.identity) {
      const { code, reason } = CLOSE[admission.refusal ?? "invalidAuth"];
      socket.close(code, reason);
      return;
    }
    service.attach(socket, { ...admission, identity: admission.identity }, ip, userAgent);
  };
  socket.onclose = () => service.abandon(admission, ip);
  return response;
});
