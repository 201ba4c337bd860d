/**
 * A socket's `resume`: the positions it sends are checked against the heads of the streams it reads, then
 * what it lacks is read from the store a page at a time and fed to its outbound queue with backpressure. The
 * memory a replay holds is one page, however far back it starts; it goes as fast as the client reads, and
 * stops as soon as the socket closes.
 */
import type { Stream } from "./keys.ts";
import { notificationFrame } from "./hub.ts";
import type { Positions, StoredNotification } from "./notifications.ts";
import type { Outbound } from "./outbound.ts";
import type { NotificationType } from "./protocol.ts";

/** The part of a socket's session a replay reads and moves on. */
export interface ReplayTarget {
  readonly streams: readonly Stream[];
  /** Per stream (index in `streams`), the highest seq this socket was sent (or its welcome said was past). */
  readonly sent: number[];
  /** Per stream, the head at the welcome: what lies at or below it was never sent on this socket. */
  readonly welcomedAt: number[];
  readonly types: Set<NotificationType> | null;
  readonly outbound: Outbound;
  /** True once the socket is closing or closed. */
  readonly closed: boolean;
  /** Queues a frame of `type`, counted in `realtime_frames_total{direction="out"}`. */
  send(frame: string, type: string): unknown;
}

export interface ReplaySource {
  /** Current heads of these streams. */
  positions(streams: Stream[]): Promise<Positions>;
  /** Stored notifications of a stream after a seq, in order, read a page at a time as they are taken. */
  scan(stream: Stream, after: number): AsyncIterable<StoredNotification>;
}

/** A replay's outcome: how many frames it sent, or the position it refused. */
export type ReplayResult = { replayed: number } | { refused: string };

/**
 * Frames a replay lets wait in the outbound queue before it waits itself. Few: Deno's own write buffer
 * (256 KiB) already holds dozens of frames ahead of these, and a frame waiting here is a JS string that lives
 * through young-generation collections and is promoted. Measured (tests/adversarial/exhaustion_test.ts): 100
 * waiting frames let the amplification attack grow RSS by 75–81 MiB, 16 by 61–65 MiB, at the same speed.
 */
const REPLAY_LOW_WATER = 16;

/** Frames a replay lets wait in the outbound queue: at most REPLAY_LOW_WATER, and far below BUFFER_SIZE. */
export function replayLowWater(bufferSize: number): number {
  return Math.max(1, Math.min(REPLAY_LOW_WATER, Math.floor(bufferSize / 4)));
}

/**
 * Replays to `target` what it lacks after `from`: what was stored before its welcome, and whatever it has not
 * been sent yet; never what it was already sent. A position beyond its stream's head is refused before
 * anything is read (the message names the stream); positions of streams the target does not read are
 * ignored. The caller holds live notifications meanwhile and runs one replay per socket at a time.
 */
export async function replayInto(
  target: ReplayTarget,
  source: ReplaySource,
  from: Positions,
  bufferSize: number,
): Promise<ReplayResult> {
  const heads = await source.positions([...target.streams]);
  const beyond = target.streams.find((stream) => (from[stream] ?? 0) > heads[stream]);
  if (beyond !== undefined) {
    return {
      refused: `Position ${from[beyond]} of stream "${beyond}" is beyond its head (${heads[beyond]})`,
    };
  }
  const lowWater = replayLowWater(bufferSize);
  let replayed = 0;
  for (let i = 0; i < target.streams.length && !target.closed; i++) {
    const welcomedAt = target.welcomedAt[i] ?? 0;
    const sentUpTo = target.sent[i] ?? 0;
    for await (const n of source.scan(target.streams[i], from[target.streams[i]] ?? 0)) {
      if (n.seq > welcomedAt && n.seq <= sentUpTo) continue;
      if (target.outbound.queued() > lowWater) await target.outbound.whenBelow(lowWater);
      // Leaving the loop ends the scan: no page is read after the socket closed.
      if (target.closed) break;
      target.sent[i] = Math.max(target.sent[i] ?? 0, n.seq);
      if (target.types && !target.types.has(n.type)) continue;
      target.send(notificationFrame(n), n.type);
      replayed++;
    }
  }
  return { replayed };
}
