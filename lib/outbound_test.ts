import assert from "node:assert/strict";
import WebSocketNode from "ws";
import { createOutbound } from "./outbound.ts";
import { eventually } from "../tests/helpers/eventually.ts";
import { scriptedSink } from "../tests/helpers/frame_sink.ts";

const FULL = 1024 * 1024;
const settled = <T>(promise: Promise<T>) => {
  const state = { done: false };
  promise.then(() => state.done = true);
  return state;
};
const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("outbound.whenBelow() resolves at once while the queue is at or under the mark", async () => {
  const { sink } = scriptedSink();
  const outbound = createOutbound(sink, 100);
  await outbound.whenBelow(0);
  outbound.push("a");
  await outbound.whenBelow(0);
  outbound.clear();
});

Deno.test("outbound.whenBelow() waits while the peer reads nothing, and wakes as the queue drains", async () => {
  const { sink, sent } = scriptedSink();
  const outbound = createOutbound(sink, 100);
  // Past Deno's high-water mark every frame waits in the queue.
  sink.bufferedAmount = FULL;
  outbound.push("x".repeat(200 * 1024));
  for (let i = 0; i < 10; i++) assert.equal(outbound.push(`frame ${i}`), true);
  assert.equal(outbound.queued(), 10);
  const underFive = settled(outbound.whenBelow(5));
  const empty = settled(outbound.whenBelow(0));
  await tick(30);
  assert.equal(underFive.done, false, "woke while the peer read nothing");
  assert.equal(empty.done, false);
  // The peer reads everything: the next drain sends the queue and wakes both.
  sink.bufferedAmount = 0;
  await tick(30);
  assert.equal(outbound.queued(), 0);
  assert.equal(underFive.done && empty.done, true);
  assert.deepEqual(sent.slice(1), Array.from({ length: 10 }, (_, i) => `frame ${i}`));
  outbound.clear();
});

Deno.test("outbound.clear() wakes waiters, so a producer notices that its socket closed", async () => {
  const { sink } = scriptedSink();
  const outbound = createOutbound(sink, 100);
  sink.bufferedAmount = FULL;
  outbound.push("x".repeat(200 * 1024));
  outbound.push("waiting");
  const waiting = settled(outbound.whenBelow(0));
  await tick(20);
  assert.equal(waiting.done, false);
  sink.readyState = WebSocket.CLOSED;
  outbound.clear();
  await tick();
  assert.equal(waiting.done, true);
  assert.equal(outbound.queued(), 0);
});

Deno.test("outbound: a producer that keeps the queue from emptying does not keep sent frames", async () => {
  const { sink, sent } = scriptedSink();
  const outbound = createOutbound(sink, 10_000);
  const frame = (i: number) => `${i}:`.padEnd(2000, "z");
  // The peer reads about 20 frames' worth every 5 ms, slower than the producer: the queue never empties.
  const reader = setInterval(() => (sink.bufferedAmount = Math.max(0, sink.bufferedAmount - 20 * 2000)), 5);
  let pushed = 0;
  let longest = 0;
  let waited = 0;
  try {
    while (pushed < 3000) {
      if (outbound.queued() > 100) waited++;
      await outbound.whenBelow(100);
      outbound.push(frame(pushed++));
      // What the queue keeps reachable: the frames waiting and at most as many already sent, plus a slack.
      const internal = (outbound as unknown as { queue: string[] | null }).queue;
      longest = Math.max(longest, internal?.length ?? 0);
    }
    await outbound.whenBelow(0);
  } finally {
    clearInterval(reader);
    outbound.clear();
  }
  assert.ok(waited > 10, `the producer never had to wait (${waited})`);
  assert.ok(longest <= 2 * 101 + 64, `the queue's array reached ${longest} frames`);
  assert.deepEqual(sent.map((f) => Number(f.split(":")[0])), Array.from({ length: 3000 }, (_, i) => i));
});

Deno.test("outbound on a real socket: whenBelow() waits for a paused client, in order once it reads", async () => {
  let resolveServer: (ws: WebSocket) => void;
  const serverSocket = new Promise<WebSocket>((resolve) => resolveServer = resolve);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => resolveServer(socket);
    return response;
  });
  const received: string[] = [];
  const client = new WebSocketNode(`ws://127.0.0.1:${server.addr.port}`);
  const closed = new Promise((resolve) => client.once("close", resolve));
  client.on("message", (data) => received.push(String(data)));
  try {
    const ws = await serverSocket;
    await new Promise((resolve) => client.once("open", resolve));
    client.pause();
    const outbound = createOutbound(ws, 1000);
    const frame = (i: number) => `${i}:${"y".repeat(16 * 1024)}`;
    // Push until frames wait in our queue (the kernel and Deno's buffer take the first few MB).
    let i = 0;
    while (outbound.queued() < 20 && i < 5000) {
      await outbound.whenBelow(20);
      outbound.push(frame(i++));
      if (outbound.queued() === 0) await tick(1);
    }
    assert.ok(outbound.queued() >= 20, "the paused client never filled the buffers");
    const drained = settled(outbound.whenBelow(0));
    await tick(50);
    assert.equal(drained.done, false, "woke while the client read nothing");
    client.resume();
    await outbound.whenBelow(0);
    await eventually(
      () => received.length >= i,
      10_000,
      () => `all ${i} frames read (${received.length} so far)`,
    );
    assert.deepEqual(received.map((r) => Number(r.split(":")[0])), Array.from({ length: i }, (_, n) => n));
    outbound.clear();
  } finally {
    client.close();
    await closed;
    await server.shutdown();
  }
});
