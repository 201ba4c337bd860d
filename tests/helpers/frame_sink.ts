/**
 * A socket's write side as `lib/outbound.ts` sees it (`FrameSink`), for unit tests of the outbound queue and
 * of what feeds it: every frame sent stays in `bufferedAmount` until the test lets the peer read.
 */
import type { FrameSink } from "../../lib/outbound.ts";

/** A peer that reads only when told to; `sent` is everything sent to it, in order. */
export function scriptedSink() {
  const sent: string[] = [];
  const sink = {
    readyState: WebSocket.OPEN as number,
    bufferedAmount: 0,
    send(frame: string) {
      sent.push(frame);
      sink.bufferedAmount += frame.length;
    },
  } satisfies FrameSink;
  return { sink, sent, read: () => (sink.bufferedAmount = 0) };
}
