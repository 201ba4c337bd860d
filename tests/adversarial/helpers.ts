/**
 * Tools for attacking the service: raw `ws` sockets (which can send what browsers cannot), raw TCP, a client
 * that resumes as lib/client/realtime_client.ts does, and small waiting helpers. Every connection goes to loopback only.
 */
import WebSocketNode from "ws";
import type { Frame } from "../helpers/socket.ts";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds; for server-side state that has no event to await. */
export async function waitUntil(check: () => boolean | Promise<boolean>, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await sleep(20);
  }
}

export interface NodeSocket {
  ws: WebSocketNode;
  frames: Frame[];
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
}

/** A `ws` client: it can send fragments, invalid UTF-8, headers such as X-Forwarded-For, and stop reading. */
export function nodeSocket(
  url: string,
  protocols?: string | string[],
  options: WebSocketNode.ClientOptions = {},
): NodeSocket {
  const ws = new WebSocketNode(url, protocols, options);
  const frames: Frame[] = [];
  ws.on("message", (data, binary) => {
    if (!binary) frames.push(JSON.parse(String(data)));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: String(reason) }))
  );
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  // A refused or reset socket also emits "error"; `closed` tells the outcome.
  ws.on("error", () => {});
  return { ws, frames, opened, closed };
}

/** Resolves with the first frame, received already or later, that matches; rejects on close or after `ms`. */
export function nextFrame(socket: NodeSocket, match: (f: Frame) => boolean, ms = 5000): Promise<Frame> {
  const seen = socket.frames.find(match);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      socket.ws.off("message", onMessage);
      socket.ws.off("close", onClose);
    };
    const onMessage = () => {
      const frame = socket.frames.findLast(match);
      if (frame) done(), resolve(frame);
    };
    const onClose = (code: number) => (done(), reject(new Error(`Socket closed ${code} while waiting`)));
    const timer = setTimeout(() => (done(), reject(new Error("Timed out waiting for a frame"))), ms);
    socket.ws.on("message", onMessage);
    socket.ws.on("close", onClose);
  });
}

/** Opens `count` `ws` sockets at once and resolves with how each ended up: welcomed, or closed with a code. */
export async function connectMany(
  count: number,
  open: (i: number) => NodeSocket,
): Promise<Array<{ socket: NodeSocket; outcome: "welcome" | { code: number; reason: string } }>> {
  return await Promise.all(Array.from({ length: count }, async (_, i) => {
    const socket = open(i);
    const welcomed = new Promise<"welcome">((resolve) => socket.ws.once("message", () => resolve("welcome")));
    const outcome = await Promise.race([welcomed, socket.closed]);
    return { socket, outcome };
  }));
}

/** A raw TCP connection to the server, for requests no HTTP client would send. */
export async function rawTcp(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const encoder = new TextEncoder();
  return {
    conn,
    /** Writes all of it (a socket write may take only part). */
    async write(text: string | Uint8Array) {
      let bytes = typeof text === "string" ? encoder.encode(text) : text;
      while (bytes.length) bytes = bytes.subarray(await conn.write(bytes));
    },
    /** Reads until the peer closes or resets, `enough` holds for what was read, or `ms` pass. */
    async readToEnd(
      ms: number,
      enough?: (text: string) => boolean,
    ): Promise<{ bytes: Uint8Array; ended: boolean }> {
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(16 * 1024);
      const timeout = sleep(ms).then(() => "timeout" as const);
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

/**
 * What a client application sees, kept as lib/client/realtime_client.ts keeps it: per stream, notifications applied strictly
 * in `seq` order; a frame ahead of the next expected seq waits until the gap is filled, one at or below the
 * position is a duplicate. `positions` is what the client sends in `resume` after a reconnect.
 */
export function createResumeLedger() {
  const positions: Record<string, number> = {};
  const pending = new Map<string, Map<number, Frame>>();
  const applied = new Map<string, Frame[]>();
  let duplicates = 0;

  function take(frame: Frame) {
    const stream = frame.stream!;
    const seq = frame.seq!;
    const waiting = pending.get(stream) ?? new Map<number, Frame>();
    pending.set(stream, waiting);
    if (seq <= (positions[stream] ?? 0) || waiting.has(seq)) {
      duplicates++;
      return;
    }
    waiting.set(seq, frame);
    for (let next = (positions[stream] ?? 0) + 1; waiting.has(next); next++) {
      const list = applied.get(stream) ?? [];
      applied.set(stream, list);
      list.push(waiting.get(next)!);
      waiting.delete(next);
      positions[stream] = next;
    }
  }

  return {
    positions,
    applied,
    take,
    get duplicates() {
      return duplicates;
    },
    /** Frames received past a gap that was never filled. */
    get stranded() {
      return [...pending.values()].reduce((n, m) => n + m.size, 0);
    },
  };
}
