/**
 * A neighbour that only pings, run as a process of its own so that its round trips measure the service, not
 * the event loop of a test that is busy reading an attack's frames:
 * `deno run --allow-net pinger.ts <wsUrl> <token> [everyMs]`. It prints `ready` once welcomed, pings every
 * `everyMs` until its stdin closes, then prints `{"answered": n, "worstMs": ms}` and exits.
 */
const [url, token, every = "100"] = Deno.args;
const ws = new WebSocket(url, ["realtime.v1", token]);
const waiting = new Map<string, number>();
let answered = 0;
let worst = 0;
let welcomed: () => void;
const welcome = new Promise<void>((resolve) => welcomed = resolve);

ws.onmessage = (event) => {
  const frame = JSON.parse(event.data);
  if (frame.type === "welcome") welcomed();
  const sentAt = frame.type === "pong" ? waiting.get(frame.data.replyTo) : undefined;
  if (sentAt === undefined) return;
  waiting.delete(frame.data.replyTo);
  worst = Math.max(worst, performance.now() - sentAt);
  answered++;
};
ws.onclose = (event) => {
  console.error(`closed ${event.code} ${event.reason}`);
  Deno.exit(1);
};

await welcome;
console.log("ready");
let n = 0;
const timer = setInterval(() => {
  const id = `ping-${++n}`;
  waiting.set(id, performance.now());
  ws.send(JSON.stringify({ type: "ping", id }));
}, Number(every));

// Runs until the test closes stdin.
for await (const _ of Deno.stdin.readable) { /* nothing is sent on stdin */ }
clearInterval(timer);
// A ping still unanswered counts with the time it has waited so far.
for (const sentAt of waiting.values()) worst = Math.max(worst, performance.now() - sentAt);
ws.onclose = null;
ws.close();
console.log(JSON.stringify({ answered, worstMs: worst }));
