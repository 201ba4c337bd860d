/**
 * A test WebSocket client over Deno's own WebSocket: await frames by type, and the close event.
 */
import { createSocketWaiters } from "./socket_waiters.ts";

export interface Frame {
  type: string;
  data: Record<string, unknown>;
  timestamp: string;
  id?: string;
  stream?: string;
  seq?: number;
  [key: string]: unknown;
}

export interface TestSocket {
  ws: WebSocket;
  frames: Frame[];
  /** Resolves with the next frame (after any already consumed) matching `type`, or rejects after `ms`. */
  next(type?: string | ((f: Frame) => boolean), ms?: number): Promise<Frame>;
  /** Resolves when `count` frames matching `type` have arrived in all. */
  collect(type: string | ((f: Frame) => boolean), count: number, ms?: number): Promise<Frame[]>;
  send(frame: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/** Opens a socket and waits for it to open (not for the welcome). */
export async function openSocket(url: string, protocols?: string | string[]): Promise<TestSocket> {
  const ws = new WebSocket(url, protocols);
  const frames: Frame[] = [];
  let cursor = 0;
  const { wake, until: waitFor } = createSocketWaiters(
    () => ws.readyState === WebSocket.CLOSED,
    () => JSON.stringify(frames.map((f) => f.type)),
  );
  ws.onmessage = (e) => {
    frames.push(JSON.parse(e.data));
    wake();
  };
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.onclose = (e) => {
      resolve({ code: e.code, reason: e.reason });
      wake();
    };
  });
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (e) => reject(new Error(`Socket failed to open: ${(e as ErrorEvent).message}`));
  });
  const matches = (type?: string | ((f: Frame) => boolean)) => (f: Frame) =>
    type === undefined ? true : typeof type === "string" ? f.type === type : type(f);

  return {
    ws,
    frames,
    next(type, ms = 5000) {
      const match = matches(type);
      return waitFor(
        () => {
          for (let i = cursor; i < frames.length; i++) {
            if (match(frames[i])) {
              cursor = i + 1;
              return frames[i];
            }
          }
          return undefined;
        },
        ms,
        `frame ${String(type)}`,
      );
    },
    collect(type, count, ms = 10000) {
      const match = matches(type);
      return waitFor(
        () => {
          const found = frames.filter(match);
          return found.length >= count ? found : undefined;
        },
        ms,
        `${count} frames ${String(type)}`,
      );
    },
    send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    closed,
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) ws.close();
      await closed;
    },
  };
}

/** Opens an authenticated socket with `realtime.v1, <token>` and waits for its welcome. */
export async function connectWelcomed(
  wsUrl: string,
  token: string,
): Promise<{ socket: TestSocket; welcome: Frame }> {
  const socket = await openSocket(wsUrl, ["realtime.v1", token]);
  const welcome = await socket.next("welcome");
  return { socket, welcome };
}
