/**
 * The client's IP: the peer's address, or, when the peer is a trusted proxy, the nearest address in
 * `X-Forwarded-For` that is not itself a trusted proxy.
 */
export function clientIp(
  peer: string,
  forwardedFor: string | null,
  trustedProxies: readonly string[],
): string {
  // Without the header there is nothing to weigh: the common case, on every handshake.
  if (!forwardedFor) return normalise(peer);
  const trusted = new Set(trustedProxies.map(normalise));
  if (!trusted.has(normalise(peer))) return normalise(peer);
  const hops = forwardedFor.split(",").map((h) => normalise(h.trim())).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!trusted.has(hops[i])) return hops[i];
  }
  return hops[0] ?? normalise(peer);
}

function normalise(address: string): string {
  if (!address.includes(":")) return address; // IPv4, written one way only
  // IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the same client as `1.2.3.4`.
  return address.replace(/^::ffff:/i, "").replace(/^\[(.*)\]$/, "$1").toLowerCase();
}
