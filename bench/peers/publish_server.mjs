/**
 * The HTTP side the Node peers share: `GET /health`, and `POST /publish`, whose body `publish(frame)` fans out
 * to every socket; the answer says how many sockets there were. Plain JavaScript for Node.
 */
import { Buffer } from "node:buffer";
import { createServer } from "node:http";

/** An HTTP server for a peer; `publish` sends a frame to every socket and returns how many it reached. */
export function createPublishServer(publish) {
  return createServer((req, res) => {
    if (req.url === "/health") return res.end("ok");
    if (req.url !== "/publish" || req.method !== "POST") return res.writeHead(404).end();
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const delivered = publish(Buffer.concat(chunks).toString());
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ delivered }));
    });
  });
}
