/**
 * Crowds of sockets from one address (loopback, as a NAT presents its users): opened many at a time, each
 * ending up welcomed or closed with a code, and closed all at once. Lean on purpose: a crowd is thousands.
 */

export type Outcome = "welcome" | { code: number; reason: string };

export interface CrowdSocket {
  ws: WebSocket;
  /** Welcomed, or how the socket closed before its welcome (a refused upgrade, a 5xx, ends as 1006). */
  outcome: Promise<Outcome>;
  closed: Promise<{ code: number; reason: string }>;
}

/** A crowd socket whose outcome is known. */
export type JoinedSocket = CrowdSocket & { result: Outcome };

/** Opens one socket with a token in the subprotocol. */
export function joinCrowd(wsUrl: string, token: string): CrowdSocket {
  const ws = new WebSocket(wsUrl, ["realtime.v1", token]);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
  });
  const welcomed = new Promise<"welcome">((resolve) => {
    ws.onmessage = (e) => {
      if (JSON.parse(e.data).type !== "welcome") return;
      ws.onmessage = null;
      resolve("welcome");
    };
  });
  ws.onerror = () => {};
  return { ws, closed, outcome: Promise.race([welcomed, closed]) };
}

/** Opens `count` sockets, at most `concurrency` handshakes at a time; resolves once each has its outcome. */
export async function openCrowd(
  count: number,
  open: (i: number) => CrowdSocket | Promise<CrowdSocket>,
  concurrency = 200,
): Promise<JoinedSocket[]> {
  const out = new Array<JoinedSocket>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const socket = await open(i);
      out[i] = { ...socket, result: await socket.outcome };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return out;
}

/** How many ended each way: `{welcome: n, "1008 Connection limit exceeded": m, …}`. */
export function tallyOutcomes(sockets: Array<{ result: Outcome }>): Record<string, number> {
  const tally: Record<string, number> = {};
  for (const { result } of sockets) {
    const name = result === "welcome" ? "welcome" : `${result.code} ${result.reason}`.trim();
    tally[name] = (tally[name] ?? 0) + 1;
  }
  return tally;
}

/** Closes every socket at once (a close storm) and resolves once each close has completed. */
export async function leaveCrowd(sockets: CrowdSocket[]): Promise<void> {
  for (const { ws } of sockets) if (ws.readyState <= WebSocket.OPEN) ws.close(1000);
  await Promise.all(sockets.map((s) => s.closed));
}
