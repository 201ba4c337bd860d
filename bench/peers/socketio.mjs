/**
 * Peer: a socket.io server, one process, WebSocket transport only, the token in the handshake's `auth`.
 * Frames travel as the `message` event; POST /publish emits the body to every socket.
 *   node bench/peers/socketio.mjs     (PORT, WS_TOKEN_SECRET from the environment)
 */
import process from "node:process";
import { Server } from "socket.io";
import { createPublishServer } from "./publish_server.mjs";
import { createTokenVerifier, helloFrame } from "./socket_token.mjs";

const verify = createTokenVerifier(process.env.WS_TOKEN_SECRET ?? "");

// socket.io answers its own path; everything else lands in the publish server.
const server = createPublishServer((frame) => {
  io.emit("message", frame);
  return io.engine.clientsCount;
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
