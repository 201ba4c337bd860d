/**
 * Which local addresses listen on a TCP port, read from the kernel's socket tables (`/proc/net/tcp` and
 * `tcp6`, present on every Linux, where `ss` may not be installed).
 */

/** `0100007F` → `127.0.0.1`; 32 hex digits → an IPv6 address in its shortest form (`::1`). */
function decodeAddress(hex: string): string {
  if (hex.length === 8) return hex.match(/../g)!.reverse().map((b) => parseInt(b, 16)).join(".");
  // Four 32-bit words, each in host (little-endian) order.
  const bytes = hex.match(/.{8}/g)!.flatMap((word) => word.match(/../g)!.reverse());
  const groups = Array.from(
    { length: 8 },
    (_, i) => parseInt(bytes[2 * i] + bytes[2 * i + 1], 16).toString(16),
  );
  const text = groups.join(":");
  const longestZeros =
    [...text.matchAll(/(?:^|:)0(?::0)+(?::|$)/g)].sort((a, b) => b[0].length - a[0].length)[0];
  return longestZeros ? text.replace(longestZeros[0], "::") : text;
}

/** The local addresses in LISTEN state on `port`, IPv4 and IPv6, sorted. */
export async function listeningAddresses(port: number): Promise<string[]> {
  const found = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await Deno.readTextFile(table).catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state !== "0A") continue; // 0A: TCP_LISTEN
      const [address, portHex] = local.split(":");
      if (parseInt(portHex, 16) === port) found.add(decodeAddress(address));
    }
  }
  return [...found].sort();
}

/** Whether this machine can listen on `::1` (containers may run without IPv6). */
export function hasIpv6Loopback(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}
