/**
 * The checks every client frame passes before the protocol sees it (SPEC §5): text, size, the socket's frame
 * rate, safe JSON, the envelope, a known type and its schema. Each inbound frame is counted in
 * `realtime_frames_total{direction="in"}` by what it turned out to be.
 */
import type { Metrics } from "./metrics.ts";
import type { FrameRateLimiter } from "./rate_limit.ts";
import { parseSafeJson } from "./safe_json.ts";
import { clientDataSchemas, clientEnvelopeSchema, isClientFrameType } from "./client_frames.ts";
import type { ClientFrameType, CloseCause, ErrorCode } from "./protocol.ts";

/** What became of a frame: handed on, refused with an `error` frame, or the socket is to close. */
export type Intake =
  | { kind: "frame"; type: ClientFrameType; data: unknown; replyTo: unknown }
  | { kind: "error"; code: ErrorCode; message: string; replyTo?: unknown }
  | { kind: "close"; cause: CloseCause };

export interface IntakeLimits {
  messageSizeLimit: number;
  messageRatePerMinute: number;
}

const encoder = new TextEncoder();

/** Checks one message from a socket; only a `frame` result has data that passed its type's schema. */
export function takeFrame(
  payload: unknown,
  limits: IntakeLimits,
  rate: FrameRateLimiter,
  metrics: Metrics,
): Intake {
  const counted = (type: string) => metrics.inc("realtime_frames_total", { direction: "in", type });
  if (typeof payload !== "string") {
    counted("binary");
    return { kind: "close", cause: "invalidData" };
  }
  // Each UTF-16 unit is 1 to 3 UTF-8 bytes: only a frame between limit/3 and limit units needs counting.
  const limit = limits.messageSizeLimit;
  if (payload.length > limit || (payload.length * 3 > limit && encoder.encode(payload).length > limit)) {
    counted("oversized");
    return { kind: "close", cause: "tooBig" };
  }
  const verdict = rate.hit();
  if (verdict !== "ok") {
    metrics.inc("realtime_rate_limited_total", { kind: verdict === "abusive" ? "socket_closed" : "frame" });
    if (verdict === "abusive") return { kind: "close", cause: "rateLimit" };
    const message = `More than ${limits.messageRatePerMinute} frames a minute; frame dropped`;
    return { kind: "error", code: "rate_limited", message };
  }
  const parsed = parseSafeJson(payload);
  if (!parsed.ok) {
    counted("invalid");
    if (parsed.reason === "syntax") return { kind: "close", cause: "invalidData" };
    const message = parsed.reason === "too_deep" ? "Frame is nested too deeply" : "Frame has a forbidden key";
    return { kind: "error", code: "invalid_payload", message };
  }
  const envelope = clientEnvelopeSchema.safeParse(parsed.value);
  if (!envelope.success) {
    counted("invalid");
    return { kind: "error", code: "invalid_payload", message: "Frame must be an object with a string type" };
  }
  const { type, id: replyTo } = envelope.data;
  if (!isClientFrameType(type)) {
    counted("unknown");
    return {
      kind: "error",
      code: "invalid_type",
      message: `Unknown frame type "${type.slice(0, 64)}"`,
      replyTo,
    };
  }
  counted(type);
  const data = clientDataSchemas[type].safeParse(envelope.data.data);
  if (!data.success) {
    const issue = data.error.issues[0];
    const where = issue?.path.length ? ` at data.${issue.path.join(".")}` : "";
    const message = `Invalid ${type} frame${where}: ${issue?.message ?? "invalid"}`;
    return { kind: "error", code: "invalid_payload", message, replyTo };
  }
  return { kind: "frame", type, data: data.data, replyTo };
}
