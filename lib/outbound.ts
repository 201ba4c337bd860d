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

/** Creates the queue for one socket; `onDrainError` is told when a send throws (the socket is gone). */
export function createOutbound(sink: FrameSink, bufferSize: number): Outbound {
  const queue: string[] = [];
  let head = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * An upper bound of the bytes Deno holds for the socket: the last reading of `bufferedAmount` plus, at 3
   * bytes a UTF-16 unit, what was sent since. Reading `bufferedAmount` is a call into the runtime, once per
   * frame of every fan-out; while the bound is under half the mark (the other half covers the ping and pong
   * frames Deno sends by itself) the reading could only say "writable", so it is skipped.
   */
  let bound = 0;

  function writable() {
    if (sink.readyState !== WebSocket.OPEN) return false;
    if (bound < HIGH_WATER_BYTES / 2) return true;
    bound = sink.bufferedAmount;
    return bound < HIGH_WATER_BYTES;
  }

  function send(frame: string) {
    sink.send(frame);
    bound += frame.length * 3;
  }

  function drain() {
    timer = undefined;
    while (head < queue.length && writable()) send(queue[head++]);
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else if (sink.readyState === WebSocket.OPEN) {
      timer = setTimeout(drain, DRAIN_POLL_MS);
    }
  }

  return {
    push(frame) {
      if (sink.readyState !== WebSocket.OPEN) return true;
      if (head === queue.length && writable()) {
        send(frame);
        return true;
      }
      queue.push(frame);
      timer ??= setTimeout(drain, DRAIN_POLL_MS);
      return queue.length - head <= bufferSize;
    },
    queued: () => queue.length - head,
    clear() {
      clearTimeout(timer);
      timer = undefined;
      queue.length = 0;
      head = 0;
    },
  };
}
