/**
 * Structured JSON logs, one object a line, with tokens and secrets redacted before anything is written.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /token|secret|authorization|cookie|signature|password/i;
const TOKEN_IN_URL = /([?&](?:token|access_token)=)[^&#\s]*/gi;
const JWT_LIKE = /\beyJ[\w-]+\.[\w-]+\.[\w-]*/g;

/** Removes `?token=` values and anything shaped like a JWT from a string. */
export function redact(text: string): string {
  return text.replace(TOKEN_IN_URL, "$1[redacted]").replace(JWT_LIKE, "[redacted]");
}

function clean(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  if (value instanceof Error) return { name: value.name, message: redact(value.message) };
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => clean(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_FIELD.test(k) ? "[redacted]" : clean(v, depth + 1)]),
  );
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Whether a line at this level would be written: lets callers skip building fields nobody reads. */
  enabled(level: LogLevel): boolean;
  /** A logger that adds these fields (a request or connection id) to every line. */
  with(fields: Record<string, unknown>): Logger;
}

/** Creates a logger that writes lines at or above `level` to `write` (stderr by default). */
export function createLogger(
  level: LogLevel = "info",
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => console.error(line),
): Logger {
  const emit = (at: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[at] < ORDER[level]) return;
    const entry = { time: new Date().toISOString(), level: at, msg: redact(msg), ...base, ...fields };
    write(JSON.stringify(clean(entry)));
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    enabled: (at) => ORDER[at] >= ORDER[level],
    with: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}
