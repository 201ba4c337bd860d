/**
 * Thousands of random and structured frames at a live socket. The server never crashes; every answer is a
 * documented one (never `internal_error`), nothing reaches the log at error level; frames that must close the
 * socket close it with their code; a neighbour socket keeps working throughout. The rate limit is raised here
 * so that it does not mask everything (see rate_limit_test); the ack budget is not, and the attacker's socket
 * is replaced every 500 frames so that acks keep being checked against the store.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { randomUser, startTestServer, type TestServer } from "../helpers/server.ts";
import { connectWelcomed, type Frame, type TestSocket } from "../helpers/socket.ts";
import type { Identity } from "../../lib/auth.ts";
import { createLogger } from "../../lib/log.ts";
import type { NotificationDraft } from "../../lib/notifications.ts";
import { binaryPayload, hostileFrames, notJson, type StoreFacts } from "./frame_arbitraries.ts";
import { nextFrame, type NodeSocket, nodeSocket, sleep } from "./helpers.ts";

/** Room for an `ack` of 500 ids of 36 characters. */
const SIZE_LIMIT = 32 * 1024;
const ERROR_CODES = new Set(["invalid_type", "invalid_payload", "rate_limited", "forbidden", "busy"]);
/** Frames of the main run, sent in batches of this many, each batch followed by a ping. */
const FRAMES = 10_000;
const BATCH = 10;
/** Frames an attacker socket sends before a fresh one takes over (the ack budget is per socket). */
const FRAMES_PER_SOCKET = 500;
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

/** Stores notifications the attacker reads and others it does not; returns what the fuzzer may name. */
async function storeFacts(server: TestServer, attacker: Identity, other: Identity): Promise<StoreFacts> {
  const draft = (stream: NotificationDraft["stream"], n: number): NotificationDraft => ({
    stream,
    type: "system_announcement",
    title: `Seed ${n}`,
    message: "Seeded for the fuzzer",
    data: { n },
  });
  const ids = async (stream: NotificationDraft["stream"], count: number) =>
    (await server.service.publish(Array.from({ length: count }, (_, n) => draft(stream, n))))
      .notifications.map((n) => n.id);
  const ownStream = `user:${attacker.userId}` as const;
  return {
    ownStream,
    ownIds: [...await ids(ownStream, 5), ...await ids("all", 3)],
    foreignIds: [...await ids(`user:${other.userId}`, 3), ...await ids("role:admin", 2)],
  };
}

/** Waits until the socket's asynchronous work (replays, ack checks) is answered: a resume of its own. */
async function settle(socket: NodeSocket, tag: string) {
  for (let attempt = 0;; attempt++) {
    const id = `${tag}-${attempt}`;
    socket.ws.send(JSON.stringify({ type: "resume", id, data: { positions: {} } }));
    const reply = await nextFrame(socket, (f) => f.data?.replyTo === id, 10_000);
    if (reply.type === "resumed") break;
    assert.equal(reply.data.code, "busy");
    await sleep(20);
  }
  // Ack checks answer nothing when they succeed; a short grace lets a failure show up.
  await sleep(200);
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
  // Every line the service logs at warn or above, to show that none of these frames is logged as a fault.
  const logged: string[] = [];
  const server = await startTestServer({
    env: {
      MESSAGE_RATE_PER_MINUTE: "1000000",
      MESSAGE_SIZE_LIMIT: String(SIZE_LIMIT),
      RATE_LIMIT_PER_IP: "0",
      RATE_LIMIT_PER_USER: "0",
    },
    log: createLogger("warn", {}, (line) => logged.push(line)),
  });
  const neighbourUser = randomUser();
  const attacker = randomUser();
  const { socket: neighbour } = await connectWelcomed(server.wsUrl, await server.socketToken(neighbourUser));
  const facts = await storeFacts(server, attacker, neighbourUser);
  const connectAttacker = async () =>
    (await connectWelcomed(server.wsUrl, await server.socketToken(attacker))).socket;
  let n = 0;
  try {
    await t.step(
      "10,000 frames, resume and ack at extreme values among them: documented answers only",
      async () => {
        let socket: NodeSocket | null = null;
        let sentOnSocket = 0;
        let sent = 0;
        const retire = async (current: NodeSocket) => {
          await settle(current, `settle-${sent}`);
          assertDocumented(current.frames);
          current.ws.close();
          await current.closed;
        };
        await fc.assert(
          fc.asyncProperty(
            fc.array(hostileFrames(SIZE_LIMIT, facts), { minLength: BATCH, maxLength: BATCH }),
            async (batch) => {
              if (!socket || sentOnSocket >= FRAMES_PER_SOCKET) {
                if (socket) await retire(socket);
                socket = nodeSocket(server.wsUrl, ["realtime.v1", await server.socketToken(attacker)]);
                await socket.opened;
                sentOnSocket = 0;
              }
              for (const text of batch.slice(0, -1)) socket.ws.send(text);
              await probe(socket, batch[batch.length - 1], ++n);
              sentOnSocket += batch.length;
              sent += batch.length;
            },
          ),
          { numRuns: FRAMES / BATCH },
        );
        assert.ok(sent >= FRAMES, `only ${sent} frames sent`);
        await retire(socket!);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        await neighbourStillServed(server, neighbour, neighbourUser.userId, "after-json");
      },
    );

    await t.step(
      "acks stored only the attacker's own notifications; nothing was logged at error level",
      async () => {
        const own = new Set(facts.ownIds);
        for await (const entry of server.kv.list({ prefix: ["deliveries"] })) {
          assert.equal(entry.key[1], attacker.userId, `a delivery stored for ${String(entry.key[1])}`);
          assert.ok(own.has(String(entry.key[2])), `a delivery stored for id ${String(entry.key[2])}`);
        }
        assert.deepEqual(logged.filter((line) => /"level":"error"/.test(line)), []);
        const health = await fetch(`${server.url}/health`);
        assert.equal(health.status, 200, await health.text());
      },
    );

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
      assert.deepEqual([...server.service.parts.hub.connections()].map((c) => c.userId), [
        neighbourUser.userId,
      ]);
    });
  } finally {
    await neighbour.close();
    await server.close();
  }
});
