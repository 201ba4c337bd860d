/**
 * Per-user request budgets on the REST API (`API_RATE_PER_MINUTE`, per isolate, see
 * `lib/request_rate_limit.ts`): past the budget, 429 `rate_limited` with `Retry-After` in seconds. Runs
 * after authentication, since the budget is the user's.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../lib/api_error.ts";
import { createRequestRateLimiter, type RequestRateLimiter } from "../lib/request_rate_limit.ts";
import type { Service } from "../lib/service.ts";
import type { AppEnv } from "./env.ts";

// One budget per service (per isolate), whichever routes share it.
const limiters = new WeakMap<Service, RequestRateLimiter>();

function limiterOf(service: Service): RequestRateLimiter {
  let limiter = limiters.get(service);
  if (!limiter) {
    limiter = createRequestRateLimiter({ perMinute: service.config.apiRatePerMinute, now: service.now });
    limiters.set(service, limiter);
  }
  return limiter;
}

/** Counts one request against the authenticated user's budget; 429 with `Retry-After` past it. */
export function apiRateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    const service = c.get("service");
    const decision = limiterOf(service).take(c.get("identity").userId);
    if (!decision.allowed) {
      service.metrics.inc("realtime_rate_limited_total", { kind: "api" });
      c.header("retry-after", String(decision.retryAfterSeconds));
      throw new ApiError(
        429,
        "rate_limited",
        `Too many requests; try again in ${decision.retryAfterSeconds} s`,
      );
    }
    await next();
  };
}
