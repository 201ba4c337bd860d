/** The Hono environment every route shares: the service, and the identity set by the auth middleware. */
import type { Identity } from "../lib/auth.ts";
import type { Service } from "../lib/service.ts";

export interface AppEnv {
  Bindings: { remoteAddr?: Deno.NetAddr };
  Variables: { service: Service; identity: Identity };
}
