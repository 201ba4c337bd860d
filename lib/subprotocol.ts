/**
 * Reads the socket token from the handshake (SPEC §5): `realtime.v1, <token>` (the server selects
 * `realtime.v1`), a lone `<token>` (echoed back, as browsers demand), or `?token=`. The header is split on
 * commas with or without spaces, as RFC 6455 allows; Deno's own option splits only on ", ".
 */
import { SUBPROTOCOL } from "./protocol.ts";

export interface HandshakeToken {
  token?: string;
  /** The subprotocol to answer with, if any. */
  protocol?: string;
}

/** The token and the subprotocol to answer with; `url` is the request's, read only for `?token=`. */
export function handshakeToken(header: string | null, url: string): HandshakeToken {
  const offered = (header ?? "").split(",").map((p) => p.trim()).filter(Boolean);
  if (offered.includes(SUBPROTOCOL)) {
    return { token: offered.find((p) => p !== SUBPROTOCOL), protocol: SUBPROTOCOL };
  }
  if (offered.length > 0) return { token: offered[0], protocol: offered[0] };
  return { token: new URL(url).searchParams.get("token") ?? undefined };
}
