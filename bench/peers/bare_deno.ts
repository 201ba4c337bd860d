/**
 * Peer: the runtime's limit. A bare `Deno.upgradeWebSocket` server served by `deno serve --parallel` like the
 * service, with no store, no schemas and no queues: it checks the token, says hello, and fans every published
 * frame out with one `send` per socket, to this worker's sockets and (over a BroadcastChannel) the others'.
 *   POST /publish      body = the frame; fans it out, answers {delivered}
 *   GET  /ws           subprotocol `realtime.v1, <token>`; a text frame from a client is published too
 */
import { createTokenVerifier, helloFrame, tokenFromProtocols } from "./socket_token.mjs";

const verify = createTokenVerifier(Deno.env.get("WS_TOKEN_SECRET") ?? "");
const worker = crypto.randomUUID();
const sockets = new Set<WebSocket>();
const channel = new BroadcastChannel("bench-bare-deno");

function fanOut(frame: string) {
  for (const socket of sockets) if (socket.readyState === WebSocket.OPEN) socket.send(frame);
}

function publish(frame: string) {
  fanOut(frame);
  channel.postMessage(frame);
}

channel.onmessage = (event: MessageEvent<string>) => fanOut(event.data);

export default {
  async fetch(req) {
    const { pathname } = new URL(req.url);
    if (pathname === "/health") return new Response("ok");
    if (pathname === "/publish" && req.method === "POST") {
      publish(await req.text());
      return Response.json({ delivered: sockets.size });
    }
    if (pathname !== "/ws" || req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Not found", { status: 404 });
    }
    if (!verify(tokenFromProtocols(req.headers.get("sec-websocket-protocol")))) {
      return new Response("Invalid authentication", { status: 401 });
    }
    // Deno's `protocol` option splits the header only on ", "; Node's `ws` client sends ",", so answer by hand.
    const { socket, response } = Deno.upgradeWebSocket(req);
    response.headers.set("sec-websocket-protocol", "realtime.v1");
    socket.onopen = () => {
      sockets.add(socket);
      socket.send(helloFrame(worker));
    };
    socket.onmessage = (event) => publish(String(event.data));
    socket.onclose = () => sockets.delete(socket);
    return response;
  },
} satisfies Deno.ServeDefaultExport;
