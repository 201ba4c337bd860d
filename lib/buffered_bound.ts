/**
 * An upper bound of the bytes the runtime holds unsent for one socket, so that its `bufferedAmount`, a call
 * into the runtime for every frame of every fan-out, is read only when the answer could be "full".
 *
 * The bound is the last reading plus 3 bytes for every UTF-16 unit sent since (no unit takes more in UTF-8).
 * While it is under half the high-water mark the socket is surely writable; the other half leaves room for
 * the ping and pong frames the runtime sends by itself, which the bound does not see. Past half the mark it
 * reads `bufferedAmount` and starts again from the reading. Either way `belowMark()` answers what a reading
 * would.
 */

/** The side of a socket the bound reads: Deno's `WebSocket` is one. */
export interface BufferedSocket {
  readonly bufferedAmount: number;
}

/** One socket's bound: a class of plain fields, not closures, since every idle socket keeps one. */
export class BufferedBound {
  private bytes = 0;

  constructor(private readonly socket: BufferedSocket, private readonly highWaterBytes: number) {}

  /** Notes a frame handed to the socket. */
  sent(frame: string): void {
    this.bytes += frame.length * 3;
  }

  /** True when the socket's buffer is surely under half the mark; never reads `bufferedAmount`. */
  surelyLow(): boolean {
    return this.bytes < this.highWaterBytes / 2;
  }

  /** True when the buffer is under the high-water mark; reads `bufferedAmount` only past half the mark. */
  belowMark(): boolean {
    if (this.surelyLow()) return true;
    this.bytes = this.socket.bufferedAmount;
    return this.bytes < this.highWaterBytes;
  }
}
