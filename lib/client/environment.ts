/**
 * What the browser client needs of the outside world, and the real browser's (or Deno's) version of it.
 * Tests inject their own: a fake clock, fake timers, fake sockets.
 */
/** The parts of the outside world the client uses; all default to the browser's (or Deno's) own. */
export interface ClientEnvironment {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
  WebSocket: new (url: string, protocols?: string | string[]) => WebSocket;
  fetch: typeof fetch;
  /** Whether the network is up now, and a way to hear when that changes. */
  network: {
    isOnline(): boolean;
    subscribe(listener: (online: boolean) => void): () => void;
  };
}

/** The real clock, timers, randomness, WebSocket, fetch and `navigator.onLine` of this runtime. */
export function browserEnvironment(): ClientEnvironment {
  const nav = (globalThis as { navigator?: { onLine?: boolean } }).navigator;
  return {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle as number),
    random: Math.random,
    WebSocket: globalThis.WebSocket,
    fetch: (input, init) => globalThis.fetch(input, init),
    network: {
      isOnline: () => nav?.onLine !== false,
      subscribe(listener) {
        if (typeof globalThis.addEventListener !== "function") return () => {};
        const online = () => listener(true);
        const offline = () => listener(false);
        globalThis.addEventListener("online", online);
        globalThis.addEventListener("offline", offline);
        return () => {
          globalThis.removeEventListener("online", online);
          globalThis.removeEventListener("offline", offline);
        };
      },
    },
  };
}
