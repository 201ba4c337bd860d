/**
 * A listener that outlives its failures. When accepting fails — above all with EMFILE, "Too many open files" —
 * `Deno.serve`'s listener ends for good, while the connections it had accepted live on. `keepListening` binds
 * a fresh listener after a back-off whenever that happens, so the process keeps every open socket, refuses new
 * connections while descriptors are short (nothing listens then), and accepts again once they come back.
 */
import type { Logger } from "./log.ts";

export type ServeHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

export interface ListenerOptions {
  hostname: string;
  /** 0 takes a free port at the first bind; every later bind reuses that port. */
  port: number;
  /** SO_REUSEPORT, so that every worker of one process listens on the port (needs `--unstable-net`). */
  reusePort: boolean;
  handler: ServeHandler;
  log: Logger;
  /** A failure of the very first bind is thrown (`"throw"`: a port taken at start-up) or retried like any. */
  firstBind: "throw" | "retry";
  /** Back-off after a failure; it doubles with each failure in a row, up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface KeptListener {
  /** Where it listens (the port chosen, when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** Stops listening for good. Connections already accepted stay with whoever holds them. */
  close(): void;
  /**
   * Resolves once closed and its last server has finished, which waits for the connections it accepted (an
   * open WebSocket keeps it waiting: shutting down does not await this).
   */
  readonly closed: Promise<void>;
}

/** `http://127.0.0.1:8000`, `http://[::1]:8000`. */
export function httpAddress(hostname: string, port: number): string {
  return `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

const isPowerOfTwo = (n: number) => (n & (n - 1)) === 0;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * Binds a listener serving `handler` and keeps one bound until `close()`: whenever the listener dies or a bind
 * fails, it binds again after a back-off (100 ms doubling to 2 s by default). Resolves once the first listener
 * is bound; with `firstBind: "throw"` a failure of that first bind rejects instead (`Deno.errors.AddrInUse`…).
 * Failures are logged at warn level at the 1st, 2nd, 4th, 8th… in a row (debug otherwise), so a long
 * descriptor shortage costs a handful of lines, and "Listener accepting again" once a request gets through.
 */
export async function keepListening(options: ListenerOptions): Promise<KeptListener> {
  const { log, hostname } = options;
  const initialBackoff = options.backoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 2000;
  const stop = new AbortController();
  let port = options.port;
  let failures = 0;
  const backoff = () => Math.min(initialBackoff * 2 ** Math.max(0, failures - 1), maxBackoff);

  function failed(msg: string, error: unknown) {
    failures++;
    const fields = { address: httpAddress(hostname, port), error, failures, retryInMs: backoff() };
    if (isPowerOfTwo(failures)) log.warn(msg, fields);
    else log.debug(msg, fields);
  }

  /**
   * Each bind serves through a handler of its own, so that only a request on a connection the newest listener
   * accepted says the listener is back: connections a dead listener accepted earlier keep being served.
   */
  let binds = 0;
  const handlerOfBind = (bindNumber: number): ServeHandler => (request, info) => {
    if (failures > 0 && bindNumber === binds) {
      log.info("Listener accepting again", { address: httpAddress(hostname, port), failures });
      failures = 0;
    }
    return options.handler(request, info);
  };

  const bind = () =>
    Deno.serve({
      hostname,
      port,
      reusePort: options.reusePort,
      signal: stop.signal,
      // Without it Deno prints "Listening on …" to stdout, a line that is not JSON.
      onListen() {},
      onError(error) {
        // Deno's default prints the error as text; the app answers its own errors, so this is a fault of ours.
        log.error("Request handler failed", { error });
        return Response.json(
          { error: { code: "internal_error", message: "Internal error" } },
          { status: 500 },
        );
      },
    }, handlerOfBind(++binds));

  async function rebind(): Promise<Deno.HttpServer<Deno.NetAddr> | undefined> {
    for (;;) {
      await sleep(backoff(), stop.signal);
      if (stop.signal.aborted) return undefined;
      try {
        return bind();
      } catch (error) {
        failed("Listener could not bind; it tries again after a back-off", error);
      }
    }
  }

  async function watch(server: Deno.HttpServer<Deno.NetAddr>) {
    for (;;) {
      let error: unknown = "its listener ended";
      try {
        await server.finished;
      } catch (reason) {
        error = reason;
      }
      if (stop.signal.aborted) return;
      failed("Listener failed; it binds again after a back-off", error);
      const next = await rebind();
      if (!next) return;
      server = next;
    }
  }

  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  try {
    server = bind();
  } catch (error) {
    if (options.firstBind === "throw") throw error;
    failed("Listener could not bind; it tries again after a back-off", error);
    server = (await rebind())!; // `close()` cannot have been called yet: nobody holds this listener.
  }
  port = server.addr.port;
  const addr = server.addr;
  const closed = watch(server).catch((error) => log.error("Listener watch failed", { error }));
  return { addr, close: () => stop.abort(), closed };
}
