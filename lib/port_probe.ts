/**
 * Whether the service may listen on its port, checked before anything binds for real, so that a taken port
 * is one plain line at start-up rather than a stack trace later.
 */
import { httpAddress } from "./listener.ts";

export type PortCheck =
  /** `port` is the one to use (resolved when 0 was asked for); `dropped` lists optional hosts left out. */
  | { ok: true; port: number; hosts: string[]; dropped: { host: string; reason: string }[] }
  | { ok: false; message: string };

/** The one line a taken port earns. */
export const portInUseMessage = (port: number) => `Port ${port} is already in use (set PORT to another port)`;

/** Errors that say an address does not exist on this machine (IPv6 switched off, a foreign HOST). */
function addressMissing(error: unknown): boolean {
  return error instanceof Deno.errors.AddrNotAvailable ||
    /address family not supported|cannot assign requested address/i.test(String(error));
}

function explain(error: unknown, host: string, port: number): string {
  if (error instanceof Deno.errors.AddrInUse) return portInUseMessage(port);
  const reason = error instanceof Error ? error.message : String(error);
  const hint = error instanceof Deno.errors.PermissionDenied
    ? " (ports below 1024 need privileges; set PORT)"
    : addressMissing(error)
    ? " (set HOST to addresses of this machine)"
    : "";
  return `Cannot listen on ${httpAddress(host, port)}: ${reason}${hint}`;
}

/**
 * Binds `port` on every host with a plain listen and lets go at once. Plain on purpose: the workers of a
 * running instance share their port with SO_REUSEPORT, and a second instance binding that way would silently
 * share it too; a plain bind is refused instead, so a second instance stops here. Port 0 resolves to one port
 * free on every host. A host in `optional` whose address this machine lacks is dropped, not an error.
 */
export function checkPort(
  hosts: readonly string[],
  port: number,
  optional: readonly string[] = [],
): PortCheck {
  for (let attempt = 0; attempt < 5; attempt++) {
    const held: Deno.Listener[] = [];
    const dropped: { host: string; reason: string }[] = [];
    let chosen = port;
    let failure: { error: unknown; host: string } | undefined;
    for (const host of hosts) {
      try {
        const listener = Deno.listen({ hostname: host, port: chosen });
        chosen = (listener.addr as Deno.NetAddr).port;
        held.push(listener);
      } catch (error) {
        if (optional.includes(host) && addressMissing(error)) {
          dropped.push({ host, reason: error instanceof Error ? error.message : String(error) });
          continue;
        }
        failure = { error, host };
        break;
      }
    }
    for (const listener of held) listener.close();
    if (!failure) {
      return {
        ok: true,
        port: chosen,
        hosts: hosts.filter((h) => !dropped.some((d) => d.host === h)),
        dropped,
      };
    }
    // A port picked at random on the first host may be taken on another: pick again.
    const retry = port === 0 && held.length > 0 && failure.error instanceof Deno.errors.AddrInUse;
    if (!retry) return { ok: false, message: explain(failure.error, failure.host, chosen) };
  }
  return { ok: false, message: `No port free on every one of ${hosts.join(", ")} (set PORT)` };
}
