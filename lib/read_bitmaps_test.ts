import assert from "node:assert/strict";
import fc from "fast-check";
import { bitsIn, CHUNK_BITS, chunkOf, chunkStart, countBits, withBit } from "./read_bitmaps.ts";

const hasBit = (bits: Uint8Array, seq: number) => bitsIn(bits, chunkOf(seq), seq - 1, seq) === 1;

Deno.test("withBit() sets one bit, keeps the others, and grows only as far as its highest bit", () => {
  const chunk = 3;
  const base = chunkStart(chunk);
  const one = withBit(null, base + 10);
  assert.equal(one.length, 2);
  assert.ok(hasBit(one, base + 10));
  assert.ok(!hasBit(one, base + 9) && !hasBit(one, base + 11) && !hasBit(one, base + 4000));
  const two = withBit(one, base + 3);
  assert.equal(two.length, 2);
  assert.ok(hasBit(two, base + 3) && hasBit(two, base + 10));
  assert.ok(!hasBit(one, base + 3), "the original is left as it was");
  const last = withBit(two, base + CHUNK_BITS - 1);
  assert.equal(last.length, CHUNK_BITS / 8);
  assert.equal(countBits(last), 3);
  assert.equal(chunkOf(base + CHUNK_BITS - 1), chunk);
  assert.equal(chunkOf(base + CHUNK_BITS), chunk + 1);
});

Deno.test("bitsIn() counts exactly the set bits in (after, upTo], whatever the range's alignment", () => {
  fc.assert(fc.property(
    fc.nat({ max: 5 }),
    fc.uniqueArray(fc.nat({ max: CHUNK_BITS - 1 }), { maxLength: 300 }),
    fc.integer({ min: -CHUNK_BITS, max: 2 * CHUNK_BITS }),
    fc.integer({ min: -CHUNK_BITS, max: 2 * CHUNK_BITS }),
    (chunk, offsets, a, b) => {
      const start = chunkStart(chunk);
      let bits: Uint8Array | null = null;
      for (const offset of offsets) bits = withBit(bits, start + offset);
      const [after, upTo] = [start + Math.min(a, b), start + Math.max(a, b)];
      const expected = offsets.filter((o) => start + o > after && start + o <= upTo).length;
      assert.equal(bitsIn(bits, chunk, after, upTo), expected);
      assert.equal(countBits(bits ?? new Uint8Array()), offsets.length);
    },
  ));
});

Deno.test("bitsIn() of no chunk, or of an empty range, is 0", () => {
  assert.equal(bitsIn(null, 0, 0, 100), 0);
  const bits = withBit(null, 5);
  assert.equal(bitsIn(bits, 0, 5, 5), 0);
  assert.equal(bitsIn(bits, 0, 6, 2), 0);
  assert.equal(bitsIn(bits, 0, 4, 5), 1);
});
