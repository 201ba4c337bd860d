import fc from "fast-check";
import { keptFrames } from "./tests/adversarial/frame_arbitraries.ts";
import { nodeSocket } from "./tests/adversarial/helpers.ts";
import { randomUser, startTestServer } from "./tests/helpers/server.ts";
const server = await startTestServer({ env: { MESSAGE_RATE_PER_MINUTE: "1000000", MESSAGE_SIZE_LIMIT: "8192" } });
const s = nodeSocket(server.wsUrl, ["realtime.v1", await server.socketToken(randomUser())]);
await s.opened;
let i = 0;
const t0 = performance.now();
for (const text of fc.sample(keptFrames(8192), 500)) {
  const id = `p${++i}`;
  const got = new Promise<void>((resolve) => { const on = (d: unknown) => { if (String(d).includes(`"replyTo":"${id}"`)) { s.ws.off("message", on); resolve(); } }; s.ws.on("message", on); });
  s.ws.send(text); s.ws.send(JSON.stringify({ type: "ping", id }));
  await got;
}
console.log(performance.now() - t0);
s.ws.close(); await s.closed; await server.close();
