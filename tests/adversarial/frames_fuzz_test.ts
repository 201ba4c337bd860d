/**
 * Thousands of random and structured frames at a live socket. The server never crashes; every answer is a
 * documented one; frames that must close the socket close it with their code; a neighbour socket keeps
 * working throughout. The rate limit is raised here so that it does not mask everything (see rate_limit_test).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { randomUser, startTestServer, type TestServer } from "../helpers/server.ts";
import { connectWelcomed, type Frame, type TestSocket } from "../helpers/socket.ts";
import { binaryPayload, keptFrames, notJson } from "./frame_arbitraries.ts";
import { nextFrame, type NodeSocket, nodeSocket, sleep } from "./helpers.ts";

const SIZE_LIMIT = 8192;
const ERROR_CODES = new Set(["invalid_type", "invalid_payload", "rate_limited", "forbidden"]);
/** Replies a frame that happens to be valid may earn, besides errors. */
const REPLIES = new Set(["welcome", "pong", "resumed", "sent", "system_announcement"]);

function assertDocumented(frames: Frame[]) {
  for (const f of frames) {
    if (f.type === "error") {
      assert.ok(ERROR_CODES.has(String(f.data.code)), `undocumented error ${JSON.stringify(f.data)}`);
    } else {
      assert.ok(REPLIES.has(f.type), `unexpected frame ${JSON.stringify(f)}`);
    }
  }
}

/**
 * Sends a frame and then a ping; the pong proves the frame was handled without closing the socket. A `ws`
 * client, because it sets TCP_NODELAY: after a large frame Deno's client would hold the ping for ~40 ms.
 */
async function probe(socket: NodeSocket, text: string, n: number) {
  socket.ws.send(text);
  socket.ws.send(JSON.stringify({ type: "ping", id: `probe-${n}` }));
  await nextFrame(socket, (f) => f.type === "pong" && f.data.replyTo === `probe-${n}`);
}

async function neighbourStillServed(server: TestServer, neighbour: TestSocket, userId: string, tag: string) {
  neighbour.send({ type: "ping", id: tag });
  assert.equal((await neighbour.next("pong")).data.replyTo, tag);
  await server.service.publish([{
    stream: `user:${userId}`,
    type: "user_message",
    title: tag,
    message: "Still here",
    data: { subject: tag },
  }]);
  assert.equal((await neighbour.next("user_message")).title, tag);
}

Deno.test("[adversarial] frame fuzzing: documented answers only, neighbours unharmed", async (t) => {
  const server = await startTestServer({
    env: {
      MESSAGE_RATE_PER_MINUTE: "1000000",
      MESSAGE_SIZE_LIMIT: String(SIZE_LIMIT),
      RATE_LIMIT_PER_IP: "0",
      RATE_LIMIT_PER_USER: "0",
    },
  });
  const neighbourUser = randomUser();
  const attacker = randomUser();
  const { socket: neighbour } = await connectWelcomed(server.wsUrl, await server.socketToken(neighbourUser));
  const connectAttacker = async () =>
    (await connectWelcomed(server.wsUrl, await server.socketToken(attacker))).socket;
  let n = 0;
  try {
    await t.step("2000 JSON frames of every shape are answered with documented frames only", async () => {
      const socket = nodeSocket(server.wsUrl, ["realtime.v1", await server.socketToken(attacker)]);
      await socket.opened;
      await fc.assert(
        fc.asyncProperty(keptFrames(SIZE_LIMIT), (text) => probe(socket, text, ++n)),
        { numRuns: 2000 },
      );
      // Frames handled asynchronously (resume, ack, user_message) may answer after the last pong: a last
      // resume reads the store behind them, and a short grace covers their replies.
      const before = socket.frames.length;
      socket.ws.send(JSON.stringify({ type: "resume", data: { positions: {} } }));
      await nextFrame(socket, (f) => f.type === "resumed" && socket.frames.indexOf(f) >= before);
      await sleep(200);
      assertDocumented(socket.frames);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      socket.ws.close();
      await socket.closed;
      await neighbourStillServed(server, neighbour, neighbourUser.userId, "after-json");
    });

    await t.step("frames that are not JSON close 1003 Invalid data format", async () => {
      await fc.assert(
        fc.asyncProperty(notJson, async (text) => {
          const socket = await connectAttacker();
          socket.send(text);
          assert.deepEqual(await socket.closed, { code: 1003, reason: "Invalid data format" });
        }),
        { numRuns: 60 },
      );
    });

    await t.step("binary frames (random bytes, invalid UTF-8, good JSON) close 1003", async () => {
      await fc.assert(
        fc.asyncProperty(binaryPayload, async (bytes) => {
          const socket = await connectAttacker();
          socket.ws.send(new Uint8Array(bytes));
          assert.deepEqual(await socket.closed, { code: 1003, reason: "Invalid data format" });
        }),
        { numRuns: 40 },
      );
    });

    await t.step("frames over MESSAGE_SIZE_LIMIT close 1009 Message too big", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: SIZE_LIMIT + 1, max: SIZE_LIMIT * 8 }),
          fc.constantFrom("a", "é", "😀"),
          async (bytes, unit) => {
            const socket = await connectAttacker();
            const size = new TextEncoder().encode(unit).length;
            socket.send(`{"type":"ping","data":"${unit.repeat(Math.ceil(bytes / size))}"}`);
            assert.deepEqual(await socket.closed, { code: 1009, reason: "Message too big" });
          },
        ),
        { numRuns: 30 },
      );
      await neighbourStillServed(server, neighbour, neighbourUser.userId, "after-closes");
    });

    await t.step("fragmented frames are reassembled and answered as a whole", async () => {
      const frame = nodeSocket(server.wsUrl, ["realtime.v1", await server.socketToken(attacker)]);
      await frame.opened;
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.integer({ min: 1, max: 30 }), { maxLength: 6 }),
          async (cuts) => {
            const id = `frag-${++n}`;
            const text = JSON.stringify({ type: "ping", id, data: { pad: "x".repeat(20) } });
            const points = [0, ...cuts.sort((a, b) => a - b), text.length];
            for (let i = 0; i < points.length - 1; i++) {
              frame.ws.send(text.slice(points[i], points[i + 1]), { fin: i === points.length - 2 });
              // A control frame may sit between fragments (RFC 6455 §5.4).
              if (i === 0) frame.ws.ping();
            }
            await nextFrame(frame, (f) => f.type === "pong" && f.data.replyTo === id);
          },
        ),
        { numRuns: 100 },
      );
      frame.ws.close();
      await frame.closed;
    });

    await t.step("a text frame of invalid UTF-8 is dropped by the runtime; neighbours unharmed", async () => {
      const raw = nodeSocket(server.wsUrl, ["realtime.v1", await server.socketToken(attacker)]);
      await raw.opened;
      raw.ws.send(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
      // Deno rejects the frame before our code sees it and drops the connection without a close frame.
      assert.ok([1006, 1007].includes((await raw.closed).code));
      await neighbourStillServed(server, neighbour, neighbourUser.userId, "after-utf8");
    });

    await t.step("the hub holds only the neighbour afterwards", async () => {
      await sleep(50);
      assert.deepEqual([...server.service.hub.connections()].map((c) => c.userId), [neighbourUser.userId]);
    });
  } finally {
    await neighbour.close();
    await server.close();
  }
});
