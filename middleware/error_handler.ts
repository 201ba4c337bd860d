/**
 * The one place errors become answers, all in the JSON error shape `{"error": {"code", "message"}}`: an
 * `ApiError` as it says; an `HTTPException` carrying its own answer as that answer (hono's `bearerAuth()`
 * throws them, built in our shape by `middleware/metrics_auth.ts`); any other `HTTPException` as
 * `http_error`; a store that stayed unavailable as 503 `unavailable`; and anything else, the service's own
 * fault, as 500 `internal_error` with an error-level log. Its log lines carry the request's id, as the access
 * line does.
 */
import type { ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError } from "../lib/api_error.ts";
import { isKvFailure } from "../lib/kv.ts";
import type { Logger } from "../lib/log.ts";
import type { AppEnv } from "./env.ts";

/** The app's `onError`: every thrown error in the JSON error shape; store outages and our faults logged. */
export function errorHandler(log: Logger): ErrorHandler<AppEnv> {
  return function answerError(error, c) {
    if (error instanceof ApiError) {
      const body = {
        code: error.code,
        message: error.message,
        ...(error.issues ? { issues: error.issues } : {}),
      };
      return c.json({ error: body }, error.status);
    }
    if (error instanceof HTTPException) {
      if (error.res) return error.getResponse();
      return c.json(
        { error: { code: "http_error", message: error.message || "Request failed" } },
        error.status,
      );
    }
    if (isKvFailure(error)) {
      // Every write is one atomic commit, so a failed request stored nothing: the caller may simply retry.
      log.warn("Store unavailable", { requestId: c.get("requestId"), path: c.req.path, error });
      return c.json({ error: { code: "unavailable", message: "Storage is unavailable; try again" } }, 503);
    }
    log.error("Request failed", { requestId: c.get("requestId"), path: c.req.path, error });
    return c.json({ error: { code: "internal_error", message: "Something went wrong; try again" } }, 500);
  };
}
