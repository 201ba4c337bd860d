import assert from "node:assert/strict";
import fc from "fast-check";
import { BufferedBound } from "./buffered_bound.ts";

const MARK = 1024;
const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/**
 * A socket's write buffer as the runtime keeps it: the UTF-8 bytes of the frames sent, plus control frames of
 * its own (pings, pongs), less what the peer has read. `reads` counts the readings of `bufferedAmount`.
 */
function runtimeBuffer() {
  const buffer = {
    held: 0,
    reads: 0,
    get bufferedAmount() {
      buffer.reads++;
      return buffer.held;
    },
  };
  return buffer;
}

Deno.test("BufferedBound never reads bufferedAmount while what was sent stays under half the mark", () => {
  const socket = runtimeBuffer();
  const bound = new BufferedBound(socket, MARK);
  // 3 bytes a unit: 170 units are 510 bytes, under half of 1,024.
  for (let i = 0; i < 17; i++) {
    bound.sent("0123456789");
    socket.held += 10;
    assert.equal(bound.surelyLow(), true);
    assert.equal(bound.belowMark(), true);
  }
  assert.equal(socket.reads, 0);
});

Deno.test("BufferedBound reads bufferedAmount past half the mark and starts again from the reading", () => {
  const socket = runtimeBuffer();
  const bound = new BufferedBound(socket, MARK);
  bound.sent("x".repeat(200)); // bound 600, the runtime holds 200
  socket.held = 200;
  assert.equal(bound.surelyLow(), false);
  assert.equal(bound.belowMark(), true);
  assert.equal(socket.reads, 1);
  // The reading (200) is the new bound: under half the mark, so no reading until more is sent.
  assert.equal(bound.surelyLow(), true);
  assert.equal(bound.belowMark(), true);
  assert.equal(socket.reads, 1);
  // A peer that reads nothing: once the runtime holds the mark, the answer is "full", from a reading.
  socket.held = MARK;
  bound.sent("y".repeat(300));
  assert.equal(bound.belowMark(), false);
  assert.equal(socket.reads, 2);
  // Still full: every question asks again, since only a reading can tell that the peer caught up.
  socket.held = 0;
  assert.equal(bound.belowMark(), true);
  assert.equal(socket.reads, 3);
});

Deno.test("BufferedBound.belowMark() always answers what reading bufferedAmount would", () => {
  // Frames of any text (1–3 UTF-8 bytes a unit, 4 for a surrogate pair), the runtime's own control frames
  // (at most 131 bytes each, together well under half the mark), and a peer that reads at any moment.
  const step = fc.oneof(
    fc.record({ send: fc.string({ unit: "binary", maxLength: 120 }) }),
    fc.record({ control: fc.integer({ min: 2, max: 131 }) }),
    fc.record({ peerReads: fc.nat({ max: 2 * MARK }) }),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 150 }), (steps) => {
      const socket = runtimeBuffer();
      const bound = new BufferedBound(socket, MARK);
      let control = 0;
      for (const s of steps) {
        if ("send" in s) {
          bound.sent(s.send);
          socket.held += utf8Bytes(s.send);
        } else if ("control" in s) {
          // Bounded as pings are (one a heartbeat): the half of the mark the bound leaves them.
          if (control + s.control > MARK / 2 - 1) continue;
          control += s.control;
          socket.held += s.control;
        } else {
          socket.held = Math.max(0, socket.held - s.peerReads);
        }
        assert.equal(bound.belowMark(), socket.held < MARK);
      }
    }),
    { numRuns: 200 },
  );
});
