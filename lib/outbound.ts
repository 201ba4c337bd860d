/**
 * A socket's outbound queue. Frames go straight to the socket while its write buffer is small; beyond that
 * they wait here, and a queue longer than `bufferSize` frames marks the socket as a slow consumer.
 */
export interface FrameSink {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(frame: string): void;
}

/** Bytes Deno may hold for a socket before frames wait in our own queue instead. */
const HIGH_WATER_BYTES = 256 * 1024;
const DRAIN_POLL_MS = 10;

export interface Outbound {
  /** Queues a frame; returns false when the queue overflowed (the caller closes the socket 4008). */
  push(frame: string): boolean;
  /** Frames waiting (a method, not a getter: a getter would put every socket's queue in dictionary mode). */
  queued(): number;
  clear(): void;
}

/** Creates the queue for one socket. */
export function createOutbound(sink: FrameSink, bufferSize: number): Outbound {
  return new Queue(sink, bufferSize);
}

/**
 * A class of plain fields, not closures, and the array made only when a frame must wait: one of these lives
 * for every idle socket.
 */
class Queue implements Outbound {
  private queue: string[] | null = null;
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /**
   * An upper bound of the bytes Deno holds for the socket: the last reading of `bufferedAmount` plus, at 3
   * bytes a UTF-16 unit, what was sent since. Reading `bufferedAmount` is a call into the runtime, once per
   * frame of every fan-out; while the bound is under half the mark (the other half covers the ping and pong
   * frames Deno sends by itself) the reading could only say "writable", so it is skipped.
   */
  private bound = 0;

  constructor(private readonly sink: FrameSink, private readonly bufferSize: number) {}

  push(frame: string): boolean {
    // The common case, once per socket of every fan-out: nothing waiting and the bound far from the mark.
    // No `readyState` read (a call into the runtime): `send` itself ignores a socket that is no longer open.
    if (this.queue === null && this.bound < HIGH_WATER_BYTES / 2) {
      this.send(frame);
      return true;
    }
    if (this.sink.readyState !== WebSocket.OPEN) return true;
    if (this.queued() === 0 && this.writable()) {
      this.send(frame);
      return true;
    }
    (this.queue ??= []).push(frame);
    this.timer ??= setTimeout(() => this.drain(), DRAIN_POLL_MS);
    return this.queued() <= this.bufferSize;
  }

  queued(): number {
    return this.queue ? this.queue.length - this.head : 0;
  }

  clear() {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = null;
    this.head = 0;
  }

  private writable() {
    if (this.sink.readyState !== WebSocket.OPEN) return false;
    if (this.bound < HIGH_WATER_BYTES / 2) return true;
    this.bound = this.sink.bufferedAmount;
    return this.bound < HIGH_WATER_BYTES;
  }

  private send(frame: string) {
    this.sink.send(frame);
    this.bound += frame.length * 3;
  }

  private drain() {
    this.timer = undefined;
    const queue = this.queue;
    if (!queue) return;
    while (this.head < queue.length && this.writable()) this.send(queue[this.head++]);
    if (this.head === queue.length) {
      this.queue = null;
      this.head = 0;
    } else if (this.sink.readyState === WebSocket.OPEN) {
      this.timer = setTimeout(() => this.drain(), DRAIN_POLL_MS);
    }
  }
}
