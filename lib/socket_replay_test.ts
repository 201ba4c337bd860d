import assert from "node:assert/strict";
import { openKv } from "./kv.ts";
import { createNotificationStore, type Positions, streamsOf } from "./notifications.ts";
import { createOutbound, type FrameSink } from "./outbound.ts";
import { replayInto, replayLowWater, type ReplayTarget } from "./socket_replay.ts";
import { SCAN_PAGE } from "./stream_scan.ts";
import { eventually } from "../tests/helpers/eventually.ts";
import { scriptedSink } from "../tests/helpers/frame_sink.ts";

/** Deno's write buffer for a socket takes this much (and the frame that crosses it) before frames queue. */
const RUNTIME_BUFFER = 256 * 1024;

function target(sink: FrameSink, bufferSize: number, sent: number[] = [], welcomedAt: number[] = []) {
  const outbound = createOutbound(sink, bufferSize);
  const t: ReplayTarget & { closed: boolean } = {
    streams: streamsOf("u1", "client"),
    sent,
    welcomedAt,
    types: null,
    outbound,
    closed: false,
    send(frame) {
      if (!outbound.push(frame)) throw new Error("the replay overflowed the queue");
    },
  };
  return t;
}

async function setUp(count: number) {
  const kv = await openKv(":memory:");
  const store = createNotificationStore(kv, { ttlMs: 86_400_000 });
  for (let i = 0; i < count; i += 100) {
    await store.append(Array.from({ length: Math.min(100, count - i) }, (_, j) => ({
      stream: "all" as const,
      type: "system_announcement" as const,
      title: `n${i + j + 1}`,
      // About 2 KB a frame, as in the resume amplification attack (SECURITY.md, "Exhaustion by one client
      // account").
      message: "m".repeat(2000),
      data: {},
    })));
  }
  let pagesRead = 0;
  const source = {
    positions: store.heads,
    async *scan(stream: "all" | `user:${string}` | "role:admin", after: number) {
      let taken = 0;
      for await (const n of store.scan(stream, after)) {
        if (taken++ % SCAN_PAGE === 0) pagesRead++;
        yield n;
      }
    },
  };
  return { kv, store, source, pagesRead: () => pagesRead };
}

const seqsOf = (frames: string[]) => frames.map((f) => JSON.parse(f).seq as number);
const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("replayInto() waits for a stalled peer with at most the low-water mark queued, then finishes", async () => {
  const { kv, source, pagesRead } = await setUp(1000);
  let stop = () => Promise.resolve({});
  try {
    const { sink, sent: frames, read } = scriptedSink();
    const bufferSize = 1000;
    const t = target(sink, bufferSize);
    const replay = replayInto(t, source, { all: 0 } as Positions, bufferSize);
    stop = () => (t.closed = true, t.outbound.clear(), replay);
    const lowWater = replayLowWater(bufferSize);
    await eventually(() => t.outbound.queued() === lowWater + 1, 10_000, "the replay to wait for the peer");
    // What a peer that reads nothing is made to hold: the runtime's buffer and the low-water mark, no more.
    assert.ok(
      sink.bufferedAmount <= RUNTIME_BUFFER + 4096,
      `${sink.bufferedAmount} bytes written to a stalled peer`,
    );
    assert.ok(frames.length < 1000 - lowWater - 1);
    assert.equal(t.outbound.queued(), lowWater + 1);
    const stalledAt = frames.length;
    await tick(50); // a grace in which a replay that did not wait would go on sending
    assert.equal(frames.length, stalledAt);
    assert.ok(
      pagesRead() <= Math.ceil((stalledAt + lowWater + 1) / SCAN_PAGE) + 1,
      `${pagesRead()} pages read`,
    );
    // The peer reads in bursts: the replay follows, in order, never past the mark.
    while (frames.length < 1000) {
      read();
      await tick(15);
      assert.ok(t.outbound.queued() <= lowWater + 1);
    }
    assert.deepEqual(await replay, { replayed: 1000 });
    assert.deepEqual(seqsOf(frames), Array.from({ length: 1000 }, (_, i) => i + 1));
  } finally {
    await stop();
    kv.close();
  }
});

Deno.test("replayInto() stops at once when its socket closes, reading no further page", async () => {
  const { kv, source, pagesRead } = await setUp(1000);
  try {
    const { sink } = scriptedSink();
    const t = target(sink, 1000);
    const replay = replayInto(t, source, {}, 1000);
    const stalled = replayLowWater(1000) + 1;
    await eventually(() => t.outbound.queued() === stalled, 10_000, "the replay to wait for the peer");
    const pages = pagesRead();
    t.closed = true;
    sink.readyState = WebSocket.CLOSED;
    t.outbound.clear();
    const result = await replay;
    assert.ok("replayed" in result && result.replayed < 1000, JSON.stringify(result));
    assert.equal(pagesRead(), pages);
  } finally {
    kv.close();
  }
});

Deno.test("replayInto() refuses a position beyond its stream's head, ignores streams not read", async () => {
  const { kv, source } = await setUp(3);
  try {
    const { sink, sent: frames, read } = scriptedSink();
    read();
    const t = target(sink, 1000);
    assert.deepEqual(await replayInto(t, source, { all: 4 }, 1000), {
      refused: 'Position 4 of stream "all" is beyond its head (3)',
    });
    assert.deepEqual(
      await replayInto(t, source, { all: 2 ** 53 - 1, "user:u1": 0 }, 1000),
      { refused: 'Position 9007199254740991 of stream "all" is beyond its head (3)' },
    );
    assert.equal(frames.length, 0);
    const ignored = await replayInto(
      t,
      source,
      { "user:someone-else": 2 ** 53 - 1, "role:admin": 7, all: 1 },
      1000,
    );
    assert.deepEqual(ignored, { replayed: 2 });
    assert.deepEqual(seqsOf(frames), [2, 3]);
  } finally {
    kv.close();
  }
});

Deno.test("replayInto() skips what the socket was already sent live, and sends what predates its welcome", async () => {
  const { kv, source } = await setUp(10);
  try {
    const { sink, sent: frames, read } = scriptedSink();
    read();
    // Welcomed at 4 on "all" (index 1), then sent 5..7 live.
    const t = target(sink, 1000, [0, 7], [0, 4]);
    assert.deepEqual(await replayInto(t, source, { all: 2 }, 1000), { replayed: 5 });
    assert.deepEqual(seqsOf(frames), [3, 4, 8, 9, 10]);
    assert.equal(t.sent[1], 10);
  } finally {
    kv.close();
  }
});
