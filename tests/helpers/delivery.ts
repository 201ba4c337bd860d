/** Assertions about what a socket was delivered. */
import assert from "node:assert/strict";
import type { Frame } from "./socket.ts";

/** The `seq`s of a stream's notification frames, in the order the socket received them. */
export function seqsOf(frames: Frame[], stream: string): number[] {
  return frames.filter((f) => f.stream === stream && typeof f.seq === "number").map((f) => f.seq!);
}

/** Asserts that the socket got seq 1‥count of `stream` exactly once each, in order. */
export function assertOnceInOrder(frames: Frame[], stream: string, count: number, who = "socket") {
  const expected = Array.from({ length: count }, (_, i) => i + 1);
  assert.deepEqual(seqsOf(frames, stream), expected, `${who}: ${stream} not delivered once, in order`);
}
