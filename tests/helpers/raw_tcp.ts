/**
 * The one raw TCP client of the tests, for what no HTTP or WebSocket client would send: a handshake that
 * never finishes, a body trickled byte by byte, an upgrade with hand-written headers. Loopback only.
 */

export interface RawTcp {
  conn: Deno.TcpConn;
  /** Writes all of it (a socket write may take only part). */
  write(text: string | Uint8Array): Promise<void>;
  /** Reads until the peer closes or resets, `enough` holds for what was read, or `ms` pass. */
  readToEnd(ms: number, enough?: (text: string) => boolean): Promise<{ bytes: Uint8Array; ended: boolean }>;
  /** Closes the connection (nothing happens if the peer already did). */
  close(): void;
}

/** Connects to `port` on 127.0.0.1; rejects as `Deno.connect` does (refused, reset). */
export async function rawTcp(port: number): Promise<RawTcp> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const encoder = new TextEncoder();
  return {
    conn,
    async write(text) {
      let bytes = typeof text === "string" ? encoder.encode(text) : text;
      while (bytes.length) bytes = bytes.subarray(await conn.write(bytes));
    },
    async readToEnd(ms, enough) {
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(16 * 1024);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), ms));
      try {
        for (;;) {
          const n = await Promise.race([conn.read(buf), timeout]).catch((error) => {
            if (error instanceof Deno.errors.ConnectionReset) return null;
            throw error;
          });
          if (n === "timeout") return { bytes: concat(chunks), ended: false };
          if (n === null) return { bytes: concat(chunks), ended: true };
          chunks.push(buf.slice(0, n));
          if (enough?.(new TextDecoder().decode(concat(chunks)))) {
            return { bytes: concat(chunks), ended: false };
          }
        }
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      try {
        conn.close();
      } catch {
        // Already closed by the peer.
      }
    },
  };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** The HTTP/1.1 upgrade request a WebSocket client sends, with an optional subprotocol header. */
export function upgradeRequest(path = "/ws", protocol?: string): string {
  return [
    `GET ${path} HTTP/1.1`,
    "Host: 127.0.0.1",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...(protocol === undefined ? [] : [`Sec-WebSocket-Protocol: ${protocol}`]),
    "",
    "",
  ].join("\r\n");
}
