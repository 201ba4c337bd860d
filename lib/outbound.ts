/**
 * A socket's outbound queue. Frames go straight to the socket while its write buffer is small; beyond that
 * they wait here, and a queue longer than `bufferSize` frames marks the socket as a slow consumer.
 */
import { BufferedBound, type BufferedSocket } from "./buffered_bound.ts";

export interface FrameSink extends BufferedSocket {
  readonly readyState: number;
  send(frame: string): void;
}

/** Bytes Deno may hold for a socket before frames wait in our own queue instead. */
const HIGH_WATER_BYTES = 256 * 1024;
const DRAIN_POLL_MS = 10;
/** Frames already sent that may sit at the front of the array before it is compacted. */
const COMPACT_AFTER = 64;

export interface Outbound {
  /** Queues a frame; returns false when the queue overflowed (the caller closes the socket 4008). */
  push(frame: string): boolean;
  /** Frames waiting (a method, not a getter: a getter would put every socket's queue in dictionary mode). */
  queued(): number;
  /**
   * Resolves once at most `frames` frames wait (at once if that holds now), or once the queue is cleared
   * because the socket closed: the caller checks whether its socket is still open. A producer that awaits this
   * before each frame never makes the queue longer than `frames + 1`.
   */
  whenBelow(frames: number): Promise<void>;
  /** Drops every waiting frame and wakes every `whenBelow` waiter (the socket closed). */
  clear(): void;
}

interface RoomWaiter {
  frames: number;
  resolve: () => void;
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
  /** What Deno holds for the socket, known without asking while it is far from the mark. */
  private readonly buffered: BufferedBound;
  /** Producers waiting for room; made on first wait (only a replaying socket ever waits). */
  private waiters: RoomWaiter[] | null = null;

  constructor(private readonly sink: FrameSink, private readonly bufferSize: number) {
    this.buffered = new BufferedBound(sink, HIGH_WATER_BYTES);
  }

  push(frame: string): boolean {
    // The common case, once per socket of every fan-out: nothing waiting and the buffer far from the mark.
    // No `readyState` read: `send` itself ignores a socket that is no longer open.
    if (this.queue === null && this.buffered.surelyLow()) {
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

  whenBelow(frames: number): Promise<void> {
    if (this.queued() <= frames) return Promise.resolve();
    return new Promise((resolve) => (this.waiters ??= []).push({ frames, resolve }));
  }

  clear() {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = null;
    this.head = 0;
    this.wake();
  }

  /** Resolves the waiters whose mark the queue is now at or under. */
  private wake() {
    const waiters = this.waiters;
    if (!waiters) return;
    const queued = this.queued();
    this.waiters = null;
    for (const waiter of waiters) {
      if (queued <= waiter.frames) waiter.resolve();
      else (this.waiters ??= []).push(waiter);
    }
  }

  private writable() {
    return this.sink.readyState === WebSocket.OPEN && this.buffered.belowMark();
  }

  private send(frame: string) {
    this.sink.send(frame);
    this.buffered.sent(frame);
  }

  private drain() {
    this.timer = undefined;
    const queue = this.queue;
    if (!queue) return;
    while (this.head < queue.length && this.writable()) this.send(queue[this.head++]);
    if (this.head === queue.length) {
      this.queue = null;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= queue.length) {
      // A producer that keeps the queue from ever emptying (a replay) would otherwise keep every frame
      // already sent reachable from the array.
      queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.queue !== null && this.sink.readyState === WebSocket.OPEN) {
      this.timer = setTimeout(() => this.drain(), DRAIN_POLL_MS);
    }
    this.wake();
  }
}
