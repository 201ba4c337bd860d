/**
 * Waiting on what a test socket received: checks that run again on every frame and on the close, with a
 * deadline. Shared by the Deno WebSocket client (`socket.ts`) and the `ws` one (`node_socket.ts`).
 */

export interface SocketWaiters {
  /** Runs every pending check again: call it on each frame received and on the close. */
  wake(): void;
  /**
   * Resolves with what `check` returns once it is not undefined, checked at once and on every `wake()`;
   * rejects if the socket is closed first, or after `ms`.
   */
  until<T>(check: () => T | undefined, ms: number, what: string): Promise<T>;
}

/** Waiters for one socket; `isClosed` says whether it is, `received` describes what came (for errors). */
export function createSocketWaiters(isClosed: () => boolean, received: () => string): SocketWaiters {
  const waiters = new Set<() => void>();
  return {
    wake() {
      for (const waiter of [...waiters]) waiter();
    },
    until(check, ms, what) {
      return new Promise((resolve, reject) => {
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(attempt);
          settle();
        };
        const attempt = () => {
          const value = check();
          if (value !== undefined) done(() => resolve(value));
          else if (isClosed()) done(() => reject(new Error(`Socket closed while waiting for ${what}`)));
        };
        const timer = setTimeout(() => {
          done(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}; got ${received()}`)));
        }, ms);
        waiters.add(attempt);
        attempt();
      });
    },
  };
}
