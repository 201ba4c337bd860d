/**
 * The service's configuration: every environment variable of README "Configuration", parsed by one zod schema
 * at start-up. Production (`REALTIME_ENV=production`) requires its secrets; development generates them.
 */
import { z } from "zod";
import { invalidProxyEntries } from "./client_ip.ts";
import { KV_VALUE_LIMIT } from "./notification_size.ts";

const list = (value: string) => value.split(/[\s,]+/).filter(Boolean);
const integer = (min: number) => z.coerce.number().int().min(min);
const ipAddress = z.union([z.ipv4(), z.ipv6()]);
/** `[::1]` is how people write an IPv6 host next to a port; the brackets are not part of the address. */
const unbracket = (host: string) => host.replace(/^\[(.*)\]$/, "$1");

/**
 * Whether listening on `wildcard` claims the port on `host` too (Linux binds `::` for IPv4 as well): listing
 * both would fail as "port in use" against ourselves.
 */
const covers = (wildcard: string, host: string) =>
  wildcard === "::" || (wildcard === "0.0.0.0" && !host.includes(":"));

/** Where development listens by default: loopback only, since its sign-in hands out admin sessions. */
export const DEV_HOSTS: readonly string[] = Object.freeze(["127.0.0.1", "::1"]);
/** Where production listens by default: every IPv4 interface, as `deno serve` did. */
export const PRODUCTION_HOSTS: readonly string[] = Object.freeze(["0.0.0.0"]);

const envSchema = z.object({
  REALTIME_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: integer(0).max(65535).default(8000),
  HOST: z.string().transform((value) => [...new Set(list(value).map(unbracket))]).pipe(
    z.array(
      z.string().refine(
        (host) => ipAddress.safeParse(host).success,
        "each entry must be an IP address, such as 127.0.0.1, ::1, 0.0.0.0 or ::",
      ),
    ).min(1, "must name at least one address").refine(
      (hosts) => !hosts.some((host) => hosts.some((other) => other !== host && covers(host, other))),
      "0.0.0.0 takes the port on every IPv4 address and :: on every address, so neither goes with an address it covers",
    ),
  ).optional(),
  WORKERS: integer(1).max(256).optional(),
  KV_PATH: z.string().min(1).optional(),
  SESSION_JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  SESSION_JWKS_URL: z.url().optional(),
  SESSION_ISSUER: z.string().min(1).optional(),
  SESSION_AUDIENCE: z.string().min(1).optional(),
  WS_TOKEN_SECRET: z.string().refine(
    (s) => new TextEncoder().encode(s).length >= 32,
    "must be at least 32 bytes",
  )
    .optional(),
  WEBHOOK_SECRETS: z.string().transform(list).pipe(
    z.array(z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, "each secret must look like whsec_<base64>")),
  ).optional(),
  ALLOWED_ORIGINS: z.string().transform(list).pipe(z.array(z.url())).optional(),
  TRUSTED_PROXIES: z.string().transform(list).pipe(
    z.array(z.string()).refine(
      (entries) => invalidProxyEntries(entries).length === 0,
      {
        error: (issue) =>
          `not an IP address or CIDR range: ${invalidProxyEntries(issue.input as string[]).join(", ")}`,
      },
    ),
  ).default(["127.0.0.1", "::1"]),
  MAX_CONNECTIONS: integer(1).default(1000),
  RATE_LIMIT_PER_IP: integer(0).default(10),
  RATE_LIMIT_PER_USER: integer(0).default(3),
  MESSAGE_RATE_PER_MINUTE: integer(1).default(120),
  API_RATE_PER_MINUTE: integer(1).default(120),
  // A body or frame becomes a stored notification, one Deno KV value: a larger limit could only admit 413s.
  MESSAGE_SIZE_LIMIT: integer(64).max(
    KV_VALUE_LIMIT,
    `must be at most ${KV_VALUE_LIMIT} (Deno KV's value limit; a notification is stored as one value)`,
  ).default(65536),
  BUFFER_SIZE: integer(1).default(1000),
  HEARTBEAT_INTERVAL_MS: integer(10).default(25000),
  CONNECTION_TIMEOUT_MS: integer(10).default(30000),
  TOKEN_TTL_SECONDS: integer(1).default(300),
  NOTIFICATION_TTL_DAYS: z.coerce.number().positive().default(30),
  RELAY: z.enum(["broadcast", "kv", "redis", "none"]).default("broadcast"),
  REDIS_URL: z.url().default("redis://127.0.0.1:6379"),
  // Presented as `Authorization: Bearer <it>`, and read by hono's bearerAuth(), which takes only this grammar.
  METRICS_TOKEN: z.string().regex(
    /^[A-Za-z0-9._~+/-]+=*$/,
    "must be a bearer token: letters, digits and -._~+/ then any = padding (RFC 6750)",
  ).optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  DEMO_USERS: z.enum(["on", "off"]).optional(),
});

type Env = z.infer<typeof envSchema>;

export interface Config {
  readonly env: Env["REALTIME_ENV"];
  readonly port: number;
  /** Addresses to listen on (`HOST`): loopback in development, every IPv4 interface otherwise. */
  readonly hosts: readonly string[];
  /** Workers of a production process (`WORKERS`), each serving on `port` with SO_REUSEPORT: one per core. */
  readonly workers: number;
  readonly kvPath: string;
  readonly session: {
    readonly secret?: string;
    readonly jwksUrl?: string;
    readonly issuer?: string;
    readonly audience?: string;
  };
  readonly wsTokenSecret: string;
  readonly webhookSecrets: readonly string[];
  readonly allowedOrigins: readonly string[];
  readonly trustedProxies: readonly string[];
  readonly maxConnections: number;
  readonly rateLimitPerIp: number;
  readonly rateLimitPerUser: number;
  readonly messageRatePerMinute: number;
  /** REST requests per user per minute (notifications, token minting), per isolate. */
  readonly apiRatePerMinute: number;
  readonly messageSizeLimit: number;
  readonly bufferSize: number;
  readonly heartbeatIntervalMs: number;
  readonly connectionTimeoutMs: number;
  readonly tokenTtlSeconds: number;
  readonly notificationTtlMs: number;
  readonly relay: Env["RELAY"];
  readonly redisUrl: string;
  readonly metricsToken?: string;
  readonly logLevel: Env["LOG_LEVEL"];
  /** Dev sign-in, demo users and the `/demo` page. Never on in production. */
  readonly demo: boolean;
}

/** Raised at start-up with one line per bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes));
}

/** Parses the environment into a frozen config, or throws a ConfigError naming every bad variable. */
export function loadConfig(vars: Record<string, string | undefined> = Deno.env.toObject()): Config {
  const present = Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${String(i.path[0] ?? "environment")}: ${i.message}`),
    );
  }
  const env = parsed.data;
  const production = env.REALTIME_ENV === "production";
  if (production) {
    const missing: string[] = [];
    if (!env.SESSION_JWT_SECRET && !env.SESSION_JWKS_URL) {
      missing.push("SESSION_JWT_SECRET: required in production (or set SESSION_JWKS_URL)");
    }
    if (!env.WS_TOKEN_SECRET) missing.push("WS_TOKEN_SECRET: required in production");
    if (!env.WEBHOOK_SECRETS?.length) missing.push("WEBHOOK_SECRETS: required in production");
    if (!env.ALLOWED_ORIGINS?.length) missing.push("ALLOWED_ORIGINS: required in production");
    if (env.DEMO_USERS === "on") missing.push("DEMO_USERS: cannot be on in production");
    if (missing.length) throw new ConfigError(missing);
  }
  const defaultKv = env.REALTIME_ENV === "test" ? ":memory:" : ".data/realtime.kv";
  const development = env.REALTIME_ENV === "development";
  return Object.freeze({
    env: env.REALTIME_ENV,
    port: env.PORT,
    hosts: Object.freeze(env.HOST ?? (development ? DEV_HOSTS : PRODUCTION_HOSTS)),
    workers: env.WORKERS ?? navigator.hardwareConcurrency,
    kvPath: env.KV_PATH ?? defaultKv,
    session: Object.freeze({
      // Dev without any session config still needs a way to sign demo users in.
      secret: env.SESSION_JWT_SECRET ?? (production || env.SESSION_JWKS_URL ? undefined : randomSecret()),
      jwksUrl: env.SESSION_JWKS_URL,
      issuer: env.SESSION_ISSUER,
      audience: env.SESSION_AUDIENCE,
    }),
    wsTokenSecret: env.WS_TOKEN_SECRET ?? randomSecret(),
    webhookSecrets: Object.freeze(env.WEBHOOK_SECRETS ?? [`whsec_${randomSecret()}`]),
    // Whichever loopback name a newcomer types, the dev pages at it may open sockets.
    allowedOrigins: Object.freeze(
      env.ALLOWED_ORIGINS ?? ["localhost", "127.0.0.1", "[::1]"].map((host) => `http://${host}:${env.PORT}`),
    ),
    trustedProxies: Object.freeze(env.TRUSTED_PROXIES),
    maxConnections: env.MAX_CONNECTIONS,
    rateLimitPerIp: env.RATE_LIMIT_PER_IP,
    rateLimitPerUser: env.RATE_LIMIT_PER_USER,
    messageRatePerMinute: env.MESSAGE_RATE_PER_MINUTE,
    apiRatePerMinute: env.API_RATE_PER_MINUTE,
    messageSizeLimit: env.MESSAGE_SIZE_LIMIT,
    bufferSize: env.BUFFER_SIZE,
    heartbeatIntervalMs: env.HEARTBEAT_INTERVAL_MS,
    connectionTimeoutMs: env.CONNECTION_TIMEOUT_MS,
    tokenTtlSeconds: env.TOKEN_TTL_SECONDS,
    notificationTtlMs: env.NOTIFICATION_TTL_DAYS * 86_400_000,
    relay: env.RELAY,
    redisUrl: env.REDIS_URL,
    metricsToken: env.METRICS_TOKEN,
    logLevel: env.LOG_LEVEL,
    demo: !production && env.DEMO_USERS !== "off",
  });
}
