/**
 * Read bitmaps: which notifications of a stream a user read one at a time, a bit per `seq`, in chunks of
 * `CHUNK_BITS` consecutive seqs. A chunk is one small KV value, so counting the reads in any range of seqs
 * costs at most two chunk reads when the number of bits set in each chunk is known (the read mark keeps it).
 * Pure functions; the KV side is lib/read_marks.ts.
 */

/** Seqs per chunk: a chunk's value is at most `CHUNK_BITS / 8` = 1 KiB. */
export const CHUNK_BITS = 8192;

/** The chunk holding `seq`'s bit. */
export const chunkOf = (seq: number): number => Math.floor(seq / CHUNK_BITS);

/** The first seq of chunk `chunk`. */
export const chunkStart = (chunk: number): number => chunk * CHUNK_BITS;

/**
 * A copy of `bits` (its chunk's value, or null for none yet) with `seq`'s bit set. The copy is only as long as
 * its highest set bit needs: a chunk whose reads lie low in it stays small.
 */
export function withBit(bits: Uint8Array | null, seq: number): Uint8Array {
  const offset = seq - chunkStart(chunkOf(seq));
  const out = new Uint8Array(Math.max(bits?.length ?? 0, (offset >> 3) + 1));
  if (bits) out.set(bits);
  out[offset >> 3] |= 1 << (offset & 7);
  return out;
}

const BYTE_BITS = Array.from({ length: 256 }, (_, byte) => {
  let n = 0;
  for (let b = byte; b; b >>= 1) n += b & 1;
  return n;
});

/** Bits set in a chunk's `bits`. */
export function countBits(bits: Uint8Array): number {
  let n = 0;
  for (const byte of bits) n += BYTE_BITS[byte];
  return n;
}

/** Bits set in chunk `chunk`'s `bits` for seqs with `after < seq <= upTo`. */
export function bitsIn(bits: Uint8Array | null, chunk: number, after: number, upTo: number): number {
  if (!bits) return 0;
  const start = chunkStart(chunk);
  const from = Math.max(0, after + 1 - start);
  const to = Math.min(bits.length * 8 - 1, upTo - start);
  let n = 0;
  let offset = from;
  // Bit by bit to the first whole byte, byte by byte through the middle, bit by bit after the last whole one.
  for (; offset <= to && offset & 7; offset++) n += (bits[offset >> 3] >> (offset & 7)) & 1;
  for (; offset + 7 <= to; offset += 8) n += BYTE_BITS[bits[offset >> 3]];
  for (; offset <= to; offset++) n += (bits[offset >> 3] >> (offset & 7)) & 1;
  return n;
}
