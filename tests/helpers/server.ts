/**
 * A real server on port 0 for integration tests: real KV (`:memory:` unless a path is given), real sockets.
 */
import { createApp } from "../../app.ts";
import type { Identity } from "../../lib/auth.ts";
import { loadConfig } from "../../lib/config.ts";
import { signSessionToken } from "../../lib/dev/demo_users.ts";
import { createLogger, type Logger } from "../../lib/log.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { createNoRelay, type Relay } from "../../lib/relay.ts";
import { createService, type ServiceWithParts } from "../../lib/service.ts";
import { openKv } from "../../lib/kv.ts";

export const TEST_SESSION_SECRET = "test-session-secret-0123456789abcdefghij";
export const TEST_WS_SECRET = "test-socket-secret-0123456789abcdefghijk";
export const TEST_WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

export interface TestServer {
  url: string;
  wsUrl: string;
  port: number;
  service: ServiceWithParts;
  kv: Deno.Kv;
  /** A platform session token for this identity. */
  sessionToken(identity: Identity, options?: { ttlSeconds?: number }): Promise<string>;
  /** A socket token minted by the service for this identity. */
  socketToken(identity: Identity): Promise<string>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  env?: Record<string, string>;
  /** A relay, or a factory given this server's KV handle (for `createKvRelay`). */
  relay?: Relay | ((kv: Deno.Kv) => Promise<Relay>);
  /** Metrics the relay also counts into (see `createRelay`). */
  metrics?: Metrics;
  kvPath?: string;
  /** A fixed port, to restart a server where its clients expect it; a free one by default. */
  port?: number;
  now?: () => number;
  /** A logger to capture lines with (default: LOG_LEVEL to stderr). */
  log?: Logger;
}

/** Starts the whole service on 127.0.0.1 at a free port (or `options.port`). */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const config = loadConfig({
    REALTIME_ENV: "test",
    SESSION_JWT_SECRET: TEST_SESSION_SECRET,
    WS_TOKEN_SECRET: TEST_WS_SECRET,
    WEBHOOK_SECRETS: TEST_WEBHOOK_SECRET,
    ALLOWED_ORIGINS: "http://localhost:8000",
    LOG_LEVEL: "error",
    ...options.env,
  });
  const kv = await openKv(options.kvPath ?? ":memory:");
  const log = options.log ?? createLogger(config.logLevel);
  const service = createService({
    config,
    kv,
    relay: typeof options.relay === "function" ? await options.relay(kv) : options.relay ?? createNoRelay(),
    log,
    metrics: options.metrics,
    now: options.now,
  });
  await service.start();
  const app = createApp(service);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    (req, info) => app.fetch(req, { remoteAddr: info.remoteAddr as Deno.NetAddr }),
  );
  const port = server.addr.port;
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    port,
    service,
    kv,
    sessionToken: (identity, opts) => signSessionToken(TEST_SESSION_SECRET, identity, opts),
    socketToken: async (identity) => (await service.socketTokens.mint(identity)).token,
    async close() {
      await service.shutdown();
      await server.shutdown();
      kv.close();
    },
  };
}

let counter = 0;
/** A fresh user with a unique id. */
export function randomUser(role: "admin" | "client" = "client"): Identity {
  const n = ++counter;
  const id = `${role}-${n}-${crypto.randomUUID().slice(0, 8)}`;
  return {
    userId: id,
    role,
    name: `${role === "admin" ? "Admin" : "Client"} ${n}`,
    email: `${id}@example.com`,
  };
}
