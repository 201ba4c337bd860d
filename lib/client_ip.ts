/**
 * Where a request comes from: the peer's address or, when the peer is a trusted proxy, the nearest address in
 * `X-Forwarded-For` that is not itself a trusted proxy; spelled one way only (IPv6 per RFC 5952, IPv4-mapped
 * IPv6 as IPv4, zone ids dropped), and the key its per-IP limit counts under (an IPv6 client is its /64).
 */

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
type IpBytes = Uint8Array;

/** The longest `X-Forwarded-For` entry read (`[` + 39 + `%25` + a 32-character zone + `]:65535` fits). */
export const MAX_FORWARDED_ENTRY = 100;

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;
const ZONE = /^[\w.~-]{1,32}$/;

function parseIpv4(text: string): IpBytes | null {
  const parts = IPV4.exec(text);
  if (!parts) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i + 1];
    // A leading zero reads as octal in some parsers and decimal in others: refuse it rather than guess.
    if (part.length > 1 && part[0] === "0") return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[i] = value;
  }
  return bytes;
}

/** Groups of one side of `::` as 16-bit values; an IPv4 tail counts as two groups. */
function parseGroups(text: string, ipv4Tail: boolean): number[] | null {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (ipv4Tail && i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIpv4(part);
      if (!v4) return null;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (HEX_GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return null;
    }
  }
  return groups;
}

function parseIpv6(text: string): IpBytes | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const compressed = halves.length === 2;
  const head = parseGroups(halves[0], !compressed);
  const tail = compressed ? parseGroups(halves[1], true) : [];
  if (!head || !tail) return null;
  const count = head.length + tail.length;
  if (compressed ? count > 7 : count !== 8) return null;
  const groups = [...head, ...new Array(8 - count).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

const isIpv4Mapped = (b: IpBytes) =>
  b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone id, `%eth0` or `%25eth0`, is dropped: it names an interface of
 * the host that wrote it, not the client). IPv4-mapped IPv6 comes back as IPv4. Null when it is no address.
 */
export function parseIp(text: string): IpBytes | null {
  if (!text.includes(":")) return parseIpv4(text);
  let address = text;
  const zoneAt = address.indexOf("%");
  if (zoneAt >= 0) {
    const zone = address.slice(zoneAt + 1).replace(/^25/, "");
    if (!ZONE.test(zone)) return null;
    address = address.slice(0, zoneAt);
  }
  const bytes = parseIpv6(address);
  if (!bytes) return null;
  return isIpv4Mapped(bytes) ? bytes.slice(12) : bytes;
}

/** The one spelling of an address: dotted decimal for IPv4, RFC 5952 for IPv6 (lower case, `::` once). */
function formatIp(bytes: IpBytes): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
  // The longest run of two or more zero groups (the first of equals) becomes `::`.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** The canonical spelling of an address, or null when `text` is not one. */
export function canonicalIp(text: string): string | null {
  const bytes = parseIp(text);
  return bytes ? formatIp(bytes) : null;
}

/**
 * The key a client's per-IP limit counts under: an IPv4 address itself, an IPv6 address's /64 spelled
 * canonically (`2001:db8::/64`), since one IPv6 host is given a whole /64 and may pick any address in it.
 * Anything that is not an address is its own key.
 */
export function ipLimitKey(address: string): string {
  const bytes = parseIp(address);
  return bytes ? limitKeyOf(bytes) : address;
}

/** `ipLimitKey` of an address already parsed. */
function limitKeyOf(bytes: IpBytes): string {
  if (bytes.length === 4) return formatIp(bytes);
  const network = bytes.slice();
  network.fill(0, 8);
  return `${formatIp(network)}/64`;
}

/** An address range: an address with a prefix length (a plain address is a range of one). */
interface IpRange {
  bytes: IpBytes;
  prefix: number;
}

/** An address as written inside a URL (`[::1]`) or bare. */
const unbracketed = (text: string) => text.replace(/^\[(.*)\]$/, "$1");

/** Parses `address` (bare or bracketed) or `address/prefix`; null when it is neither. */
function parseIpRange(text: string): IpRange | null {
  const [address, prefixText, extra] = text.split("/");
  if (extra !== undefined) return null;
  const mapped = address.includes(":") && prefixText !== undefined;
  const bytes = parseIp(unbracketed(address));
  if (!bytes) return null;
  const bits = bytes.length * 8;
  if (prefixText === undefined) return { bytes, prefix: bits };
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  // `::ffff:10.0.0.0/104` is written in IPv6 bits but names IPv4 addresses, which parseIp unmaps.
  const prefix = Number(prefixText) - (mapped && bytes.length === 4 ? 96 : 0);
  if (prefix < 0 || prefix > bits) return null;
  return { bytes, prefix };
}

function inRange(bytes: IpBytes, range: IpRange): boolean {
  if (bytes.length !== range.bytes.length) return false;
  for (let bit = 0; bit < range.prefix; bit += 8) {
    const mask = range.prefix - bit >= 8 ? 0xff : (0xff << (8 - (range.prefix - bit))) & 0xff;
    if ((bytes[bit / 8] & mask) !== (range.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

/** `TRUSTED_PROXIES` entries that are neither an address nor a range (for the config's error message). */
export function invalidProxyEntries(entries: readonly string[]): string[] {
  return entries.filter((entry) => !parseIpRange(entry));
}

/** Parsed once per list (the config's list lives as long as the service). */
const rangesOf = new WeakMap<readonly string[], IpRange[]>();
function trustedRanges(entries: readonly string[]): IpRange[] {
  let ranges = rangesOf.get(entries);
  if (!ranges) {
    ranges = entries.map(parseIpRange).filter((r): r is IpRange => r !== null);
    rangesOf.set(entries, ranges);
  }
  return ranges;
}

/** Whether an address lies in `trustedProxies` (addresses or CIDR ranges). */
function trustsAddress(trustedProxies: readonly string[]): (bytes: IpBytes) => boolean {
  const ranges = trustedRanges(trustedProxies);
  return (bytes) => ranges.some((range) => inRange(bytes, range));
}

/**
 * Whether the TCP peer `peer` (an address, bracketed or not) is in `trustedProxies`, compared as
 * `clientAddress` compares it: canonically, CIDR ranges included.
 */
export function isTrustedPeer(peer: string, trustedProxies: readonly string[]): boolean {
  const bytes = parseIp(unbracketed(peer));
  return bytes !== null && trustsAddress(trustedProxies)(bytes);
}

/**
 * One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:80`, `[2001:db8::1]:443`) or in
 * brackets, as proxies write them.
 */
function parseForwardedEntry(entry: string): IpBytes | null {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(entry);
  if (bracketed) return parseIp(bracketed[1]);
  const v4WithPort = /^([\d.]+):\d{1,5}$/.exec(entry);
  return parseIp(v4WithPort ? v4WithPort[1] : entry);
}

export type ClientAddress =
  /** `address`: the canonical client address; `limitKey`: what its per-IP limit counts (ipLimitKey). */
  | { ok: true; address: string; limitKey: string }
  /** A trusted proxy forwarded an entry that is too long or not an address: answer 400 with `reason`. */
  | { ok: false; reason: string };

/**
 * The client behind a request. `X-Forwarded-For` is believed only from a peer in `trustedProxies` (addresses
 * or CIDR ranges, compared canonically), and read from the right, hop by trusted hop, up to the first address
 * that is not a trusted proxy; entries further left were written by the client and are never read. An entry
 * that a trusted proxy wrote and that is not an address is refused, never guessed at.
 */
export function clientAddress(
  peer: string,
  forwardedFor: string | null,
  trustedProxies: readonly string[],
): ClientAddress {
  const peerBytes = parseIp(peer);
  const found = (bytes: IpBytes | null, raw: string): ClientAddress =>
    bytes
      ? { ok: true, address: formatIp(bytes), limitKey: limitKeyOf(bytes) }
      : { ok: true, address: raw, limitKey: raw };
  // Without the header there is nothing to weigh: the common case, on every handshake.
  if (!forwardedFor) return found(peerBytes, peer);
  const trusted = trustsAddress(trustedProxies);
  if (!peerBytes || !trusted(peerBytes)) return found(peerBytes, peer);
  const hops = forwardedFor.split(",");
  let nearest: IpBytes = peerBytes;
  for (let i = hops.length - 1; i >= 0; i--) {
    const entry = hops[i].trim();
    if (entry === "") continue;
    if (entry.length > MAX_FORWARDED_ENTRY) {
      return { ok: false, reason: `X-Forwarded-For entry is longer than ${MAX_FORWARDED_ENTRY} characters` };
    }
    const bytes = parseForwardedEntry(entry);
    if (!bytes) return { ok: false, reason: "X-Forwarded-For entry is not an IP address" };
    nearest = bytes;
    if (!trusted(bytes)) break;
  }
  // Every hop was a trusted proxy: the leftmost is the nearest thing to a client there is.
  return found(nearest, peer);
}
