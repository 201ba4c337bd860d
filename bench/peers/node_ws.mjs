/**
 * Peer: a Node `ws` server, one process, the same surface as the bare Deno peer.
 *   node bench/peers/node_ws.mjs      (PORT, WS_TOKEN_SECRET from the environment)
 */
import process from "node:process";
import { WebSocket, WebSocketServer } from "ws";
import { createPublishServer } from "./publish_server.mjs";
import { createTokenVerifier, helloFrame, tokenFromProtocols } from "./socket_token.mjs";

const verify = createTokenVerifier(process.env.WS_TOKEN_SECRET ?? "");
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  handleProtocols: () => "realtime.v1",
});

function publish(frame) {
  for (const socket of wss.clients) if (socket.readyState === WebSocket.OPEN) socket.send(frame);
}

const server = createPublishServer((frame) => {
  publish(frame);
  return wss.clients.size;
});

server.on("upgrade", (req, socket, head) => {
  if (!verify(tokenFromProtocols(req.headers["sec-websocket-protocol"]))) {
    socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n");
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on("message", (data) => publish(data.toString()));
    ws.send(helloFrame(String(process.pid)));
  });
});

server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
