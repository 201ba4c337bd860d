/**
 * The load generator's sockets: authenticated clients of one server, every one from the same source address,
 * as thousands of users behind one carrier-grade NAT reach the service. A socket the server refuses (an HTTP
 * error, a close before the first frame, no first frame in time) is counted by reason, never thrown: the
 * workloads report how many were held and why the others were not.
 */
import { createRequire } from "node:module";
import { createPortCursor } from "./source_ports.mjs";

const require = createRequire(new URL("./peers/package.json", import.meta.url));
const WebSocket = require("ws");
const { io } = require("socket.io-client");

/** How long a handshake may take to its first frame before it counts as refused. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Source ports tried for one socket before its `bind()` failure counts as a refusal. */
const PORT_TRIES = 64;

/** Why a socket did not open, in a few words that group alike refusals. */
function reasonOf(error) {
  const text = String(error?.message ?? error);
  const status = /Unexpected server response: (\d+)/.exec(text);
  if (status) return `HTTP ${status[1]}`;
  return error?.reason ?? error?.code ?? text.slice(0, 60);
}

/**
 * Clients of the server on `host:port` (`target` says which protocol it speaks), opened from
 * `sourceAddress`; `onFrame(client, text)` hears every frame after a socket's first.
 */
export function createClients({ target, host, port, sourceAddress, onFrame }) {
  const nextPort = createPortCursor();

  /** Opens one socket; resolves with the client once its first frame (welcome or hello) arrived. */
  async function open(token) {
    for (let tries = 1;; tries++) {
      try {
        return await openFrom(token, nextPort());
      } catch (error) {
        if (error?.code !== "EADDRINUSE" || tries === PORT_TRIES) throw error;
      }
    }
  }

  /**
   * Opens one socket from `localPort` of the source address (socket.io's client takes no port: the kernel
   * picks its ports).
   */
  function openFrom(token, localPort) {
    return new Promise((resolve, reject) => {
      const client = { group: "all", first: null, send: null, close: null, closed: null, isOpen: null };
      const timer = setTimeout(() => {
        client.close();
        reject(Object.assign(new Error("No first frame in time"), { reason: "no first frame within 30 s" }));
      }, HANDSHAKE_TIMEOUT_MS);
      const first = (text) => {
        clearTimeout(timer);
        client.first = text;
        resolve(client);
      };
      const refused = (error) => {
        clearTimeout(timer);
        reject(error);
      };
      if (target === "socketio") {
        const socket = io(`http://${host}:${port}`, {
          transports: ["websocket"],
          auth: { token },
          reconnection: false,
          forceNew: true,
          localAddress: sourceAddress,
        });
        client.closed = new Promise((done) => socket.on("disconnect", done));
        client.send = (text) => socket.emit("message", text);
        client.close = () => socket.disconnect();
        client.isOpen = () => socket.connected;
        socket.on("message", (text) => client.first === null ? first(text) : onFrame(client, text));
        socket.on("connect_error", refused);
        return;
      }
      const ws = new WebSocket(`ws://${host}:${port}/ws`, ["realtime.v1", token], {
        localAddress: sourceAddress,
        localPort,
        perMessageDeflate: false,
      });
      client.closed = new Promise((done) => ws.on("close", done));
      client.send = (text) => ws.send(text);
      client.close = () => ws.close();
      client.isOpen = () => ws.readyState === WebSocket.OPEN;
      ws.on("message", (data) => {
        const text = data.toString();
        client.first === null ? first(text) : onFrame(client, text);
      });
      ws.on("error", refused);
      ws.on("close", (code) => {
        if (client.first === null) {
          refused(Object.assign(new Error(`Closed ${code}`), { reason: `close ${code}` }));
        }
      });
    });
  }

  /**
   * Opens `count` sockets of distinct users (`tokens` from `offset` on), `concurrency` handshakes in flight.
   * Resolves with the clients that opened, the refusals by reason, and each opened handshake's time (ms).
   */
  async function openMany(tokens, count, { concurrency = 200, offset = 0 } = {}) {
    const clients = [];
    const refused = {};
    const handshakeMs = [];
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const token = tokens[(offset + next++) % tokens.length];
        const start = performance.now();
        try {
          clients.push(await open(token));
          handshakeMs.push(performance.now() - start);
        } catch (error) {
          const reason = reasonOf(error);
          refused[reason] = (refused[reason] ?? 0) + 1;
        }
      }
    }));
    return { clients, refused, handshakeMs };
  }

  /** Closes every client at once and waits (at most `ms`) until all are closed. */
  async function closeAll(clients, ms = 30_000) {
    for (const c of clients) c.close();
    let timer;
    await Promise.race([
      Promise.all(clients.map((c) => c.closed)),
      new Promise((resolve) => timer = setTimeout(resolve, ms)),
    ]);
    clearTimeout(timer);
  }

  return { open, openMany, closeAll, reasonOf };
}
