/**
 * One instance of the service in this isolate: `main.ts` imported (config → kv → relay → service → app) and
 * served on each host by a listener that outlives its failures (lib/listener.ts).
 */
import { httpAddress, keepListening, type KeptListener } from "../lib/listener.ts";
import type { Logger } from "../lib/log.ts";
import type { Service } from "../lib/service.ts";

export interface Instance {
  service: Service;
  fetch: (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;
}

/** Imports `main.ts`, which builds and starts the service; rejects when that fails (KV cannot open…). */
export async function loadInstance(): Promise<Instance> {
  const main = await import("../main.ts");
  return { service: main.service, fetch: main.default.fetch };
}

export interface ListenOptions {
  hosts: readonly string[];
  port: number;
  reusePort: boolean;
  firstBind: "throw" | "retry";
  log: Logger;
}

/**
 * Listens on `port` at every host, each with a kept listener. With `firstBind: "throw"`, the first bind that
 * fails closes the others and rejects. Resolves with the listeners and their addresses.
 */
export async function listenOnHosts(
  instance: Instance,
  options: ListenOptions,
): Promise<{ listeners: KeptListener[]; addresses: string[] }> {
  const listeners: KeptListener[] = [];
  try {
    for (const hostname of options.hosts) {
      listeners.push(
        await keepListening({
          hostname,
          port: options.port,
          reusePort: options.reusePort,
          firstBind: options.firstBind,
          handler: instance.fetch,
          log: options.log,
        }),
      );
    }
  } catch (error) {
    for (const listener of listeners) listener.close();
    throw error;
  }
  return {
    listeners,
    addresses: listeners.map(({ addr }) => httpAddress(addr.hostname, addr.port)),
  };
}
