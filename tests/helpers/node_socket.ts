/**
 * The one `ws` (Node) client of the tests. Unlike Deno's WebSocket it can do what browsers cannot: send
 * fragments, invalid UTF-8 and headers such as X-Forwarded-For or Origin, stop reading, leave pings
 * unanswered, and see the HTTP status of a refused upgrade. Every connection goes to loopback only.
 */
import WebSocketNode from "ws";
import type { Frame } from "./socket.ts";
import { createSocketWaiters } from "./socket_waiters.ts";

export interface NodeSocketOptions extends WebSocketNode.ClientOptions {
  /**
   * Sees every text frame as it arrives; only those it returns true for are kept in `frames` (a test reading
   * thousands of notifications keeps their seqs, not the frames, so as to measure the service, not itself).
   */
  keep?: (frame: Frame) => boolean;
}

export interface NodeSocket {
  ws: WebSocketNode;
  /** The text frames received (those `keep` kept), parsed, in order. */
  frames: Frame[];
  /** 101 once the socket is open, or the HTTP status its upgrade was refused with. */
  handshake: Promise<number>;
  /** Resolves once the socket is open; rejects if the upgrade was refused or failed. */
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first frame, received already or later, that matches; rejects on close or after ms. */
  first(match: (frame: Frame) => boolean, ms?: number): Promise<Frame>;
  /**
   * Resolves with what `check` returns once it is not undefined, checked at once and on every frame that
   * arrives; rejects when the socket closes first or after `ms`.
   */
  until<T>(check: () => T | undefined, ms: number, what: string): Promise<T>;
  /** Sends a frame: a string as it is, anything else as JSON. */
  send(frame: unknown): void;
  /** Closes the socket (aborting a pending handshake) and waits until it is closed. */
  close(): Promise<void>;
}

/** Opens a `ws` client to `url`; it does not wait for anything (see `opened`, `handshake`). */
export function nodeSocket(
  url: string,
  protocols?: string | string[],
  options: NodeSocketOptions = {},
): NodeSocket {
  const { keep, ...clientOptions } = options;
  const ws = new WebSocketNode(url, protocols, clientOptions);
  const frames: Frame[] = [];
  const { wake, until } = createSocketWaiters(
    () => ws.readyState === WebSocketNode.CLOSED,
    () => JSON.stringify(frames.slice(-20).map((f) => f.type)),
  );
  ws.on("message", (data, binary) => {
    if (binary) return;
    const frame: Frame = JSON.parse(String(data));
    if (!keep || keep(frame)) frames.push(frame);
    wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code, reason) => {
      resolve({ code, reason: String(reason) });
      wake();
    })
  );
  const handshake = new Promise<number>((resolve, reject) => {
    ws.once("open", () => resolve(101));
    ws.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      ws.terminate(); // ends the refused handshake: "error", then "close" (1006)
    });
    ws.once("error", reject);
  });
  // A refused or reset socket also emits "error"; `closed` tells the outcome.
  ws.on("error", () => {});
  const opened = handshake.then((status) => {
    if (status !== 101) throw new Error(`The upgrade was refused: HTTP ${status}`);
  });
  // Marked handled: a test that only looks at `closed` must not fail on a refusal it expects.
  handshake.catch(() => {});
  opened.catch(() => {});

  return {
    ws,
    frames,
    handshake,
    opened,
    closed,
    until,
    first(match, ms = 5000) {
      let scanned = 0;
      return until(
        () => {
          for (; scanned < frames.length; scanned++) if (match(frames[scanned])) return frames[scanned];
          return undefined;
        },
        ms,
        "a matching frame",
      );
    },
    send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    async close() {
      if (ws.readyState === WebSocketNode.CONNECTING) ws.terminate();
      else if (ws.readyState !== WebSocketNode.CLOSED) ws.close();
      await closed;
    },
  };
}

/** How one of `connectMany`'s sockets ended up: welcomed, or closed with a code before its welcome. */
export type ConnectOutcome = "welcome" | { code: number; reason: string };

/** Opens `count` sockets at once and resolves with how each ended up: welcomed, or closed with a code. */
export async function connectMany(
  count: number,
  open: (i: number) => NodeSocket,
): Promise<Array<{ socket: NodeSocket; outcome: ConnectOutcome }>> {
  return await Promise.all(Array.from({ length: count }, async (_, i) => {
    const socket = open(i);
    const welcomed = socket.first((f) => f.type === "welcome", 10_000).then(() => "welcome" as const);
    const outcome = await Promise.race([welcomed, socket.closed]);
    return { socket, outcome };
  }));
}
