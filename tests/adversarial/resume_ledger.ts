/**
 * What a client application sees through reconnects and resumes, kept as lib/client/realtime_client.ts keeps
 * it, for the storm tests.
 */
import type { Frame } from "../helpers/socket.ts";

/**
 * Per stream, notifications applied strictly in `seq` order; a frame ahead of the next expected seq waits
 * until the gap is filled, one at or below the position is a duplicate. `positions` is what the client sends
 * in `resume` after a reconnect.
 */
export function createResumeLedger() {
  const positions: Record<string, number> = {};
  const pending = new Map<string, Map<number, Frame>>();
  const applied = new Map<string, Frame[]>();
  let duplicates = 0;

  function take(frame: Frame) {
    const stream = frame.stream!;
    const seq = frame.seq!;
    const waiting = pending.get(stream) ?? new Map<number, Frame>();
    pending.set(stream, waiting);
    if (seq <= (positions[stream] ?? 0) || waiting.has(seq)) {
      duplicates++;
      return;
    }
    waiting.set(seq, frame);
    for (let next = (positions[stream] ?? 0) + 1; waiting.has(next); next++) {
      const list = applied.get(stream) ?? [];
      applied.set(stream, list);
      list.push(waiting.get(next)!);
      waiting.delete(next);
      positions[stream] = next;
    }
  }

  return {
    positions,
    applied,
    take,
    get duplicates() {
      return duplicates;
    },
    /** Frames received past a gap that was never filled. */
    get stranded() {
      return [...pending.values()].reduce((n, m) => n + m.size, 0);
    },
  };
}
