/**
 * The Hono environment every route shares: the service, the request's id (`middleware/request_id.ts`), and
 * the identity set by the auth middleware.
 */
import type { MiddlewareHandler } from "hono";
import type { RequestIdVariables } from "hono/request-id";
import type { Identity } from "../lib/auth.ts";
import type { Service } from "../lib/service.ts";

export interface AppEnv {
  Bindings: { remoteAddr?: Deno.NetAddr };
  Variables: RequestIdVariables & { service: Service; identity: Identity };
}

/** Makes `service` every request's `c.get("service")`: first in line, since all other middleware reads it. */
export function provideService(service: Service): MiddlewareHandler<AppEnv> {
  return async function provide(c, next) {
    c.set("service", service);
    await next();
  };
}
