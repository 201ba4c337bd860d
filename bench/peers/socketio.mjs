/**
 * Peer: a socket.io server, one process, WebSocket transport only, the token in the handshake's `auth`.
 * Frames travel as the `message` event; POST /publish emits the body to every socket.
 *   node bench/peers/socketio.mjs     (PORT, WS_TOKEN_SECRET from the environment)
 */
import { Buffer } from "node:buffer";
import { createServer } from "node:http";
import process from "node:process";
import { Server } from "socket.io";
import { createTokenVerifier, helloFrame } from "./socket_token.mjs";

const verify = createTokenVerifier(process.env.WS_TOKEN_SECRET ?? "");

const server = createServer((req, res) => {
  // socket.io answers its own path; everything else lands here.
  if (req.url === "/health") return res.end("ok");
  if (req.url !== "/publish" || req.method !== "POST") return res.writeHead(404).end();
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    io.emit("message", Buffer.concat(chunks).toString());
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ delivered: io.engine.clientsCount }));
  });
});

const io = new Server(server, { transports: ["websocket"], serveClient: false });
io.use((socket, next) =>
  next(verify(socket.handshake.auth?.token) ? undefined : new Error("Invalid authentication"))
);
io.on("connection", (socket) => {
  socket.on("message", (frame) => io.emit("message", String(frame)));
  socket.emit("message", helloFrame(String(process.pid)));
});

server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
