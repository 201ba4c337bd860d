import assert from "node:assert/strict";
import fc from "fast-check";
import {
  canonicalIp,
  clientAddress,
  invalidProxyEntries,
  ipLimitKey,
  MAX_FORWARDED_ENTRY,
  parseIp,
} from "./client_ip.ts";

Deno.test("canonicalIp() spells each IPv6 address one way (RFC 5952)", () => {
  const cases: Array<[string[], string]> = [
    [
      ["2001:db8::1", "2001:db8:0:0::1", "2001:0db8::0001", "2001:DB8:0:0:0:0:0:1", "2001:db8:0::0:1"],
      "2001:db8::1",
    ],
    [["::1", "0:0:0:0:0:0:0:1", "0000::0001"], "::1"],
    [["::", "0:0:0:0:0:0:0:0", "0::0"], "::"],
    [["1::", "1:0:0:0:0:0:0:0"], "1::"],
    // A single zero group is not compressed; of two equal runs, the first is.
    [["2001:db8:0:1:1:1:1:1", "2001:db8::1:1:1:1:1"], "2001:db8:0:1:1:1:1:1"],
    [["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], "2001:0:0:1::1"],
    [["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], "2001:db8::1:0:0:1"],
    [["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"], "1:2:3:4:5:6:7:0"],
    [["fe80::1%eth0", "fe80::1%25eth0", "FE80:0:0:0:0:0:0:1%en0"], "fe80::1"],
    // IPv4-compatible (deprecated) stays IPv6, in hex.
    [["::1.2.3.4"], "::102:304"],
  ];
  for (const [spellings, canonical] of cases) {
    for (const spelling of spellings) assert.equal(canonicalIp(spelling), canonical, spelling);
  }
});

Deno.test("canonicalIp() reads IPv4-mapped IPv6 as IPv4, and IPv4 only in dotted decimal", () => {
  for (
    const spelling of ["203.0.113.9", "::ffff:203.0.113.9", "::FFFF:cb00:7109", "0:0:0:0:0:ffff:203.0.113.9"]
  ) {
    assert.equal(canonicalIp(spelling), "203.0.113.9", spelling);
  }
  assert.equal(canonicalIp("0.0.0.0"), "0.0.0.0");
  assert.equal(canonicalIp("255.255.255.255"), "255.255.255.255");
});

Deno.test("parseIp() refuses what is not an address", () => {
  const bad = [
    "",
    "unknown",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3.4 ",
    "0x1.2.3.4",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1::2::3",
    ":1::2",
    "1::2:",
    "12345::1",
    "g::1",
    "::1.2.3",
    "1.2.3.4::",
    "::1.2.3.4:5",
    "fe80::1%",
    "fe80::1%bad zone",
    `fe80::1%${"z".repeat(33)}`,
    "[::1]",
    "1:2:3:4:5:6:7:8::",
  ];
  for (const text of bad) assert.equal(parseIp(text), null, JSON.stringify(text));
});

Deno.test("ipLimitKey(): an IPv6 client counts as its /64, an IPv4 client as itself", () => {
  assert.equal(ipLimitKey("2001:db8::1"), "2001:db8::/64");
  assert.equal(ipLimitKey("2001:0db8:0000:0000:ffff:ffff:ffff:ffff"), "2001:db8::/64");
  assert.equal(ipLimitKey("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  assert.equal(ipLimitKey("2001:db8:1:3::1"), "2001:db8:1:3::/64");
  assert.equal(ipLimitKey("::1"), "::/64");
  assert.equal(ipLimitKey("::ffff:10.0.0.1"), "10.0.0.1");
  assert.equal(ipLimitKey("10.0.0.1"), "10.0.0.1");
});

Deno.test("ipLimitKey() is the same for every spelling of every address of a /64 (property)", () => {
  const group = fc.integer({ min: 0, max: 0xffff });
  const groups = fc.array(group, { minLength: 8, maxLength: 8 });
  /** A random legal spelling: case, leading zeros, and `::` over any run of zeros. */
  const spell = (gs: number[], upper: boolean, pad: boolean, compressAt: number) => {
    const text = gs.map((g) => {
      const h = g.toString(16);
      return (pad ? h.padStart(4, "0") : h)[upper ? "toUpperCase" : "toLowerCase"]();
    });
    let start = compressAt % 8;
    while (start < 8 && gs[start] !== 0) start++;
    if (start >= 8) return text.join(":");
    let end = start;
    while (end < 8 && gs[end] === 0) end++;
    return `${text.slice(0, start).join(":")}::${text.slice(end).join(":")}`;
  };
  fc.assert(
    fc.property(groups, groups, fc.boolean(), fc.boolean(), fc.nat(7), (a, b, upper, pad, at) => {
      // Not IPv4-mapped: those are IPv4 clients.
      fc.pre(!(a.slice(0, 5).every((g) => g === 0) && a[5] === 0xffff));
      const sameNetwork = [...a.slice(0, 4), ...b.slice(4)];
      fc.pre(!(sameNetwork.slice(0, 5).every((g) => g === 0) && sameNetwork[5] === 0xffff));
      const canonical = canonicalIp(spell(a, false, false, 0));
      assert.equal(canonicalIp(spell(a, upper, pad, at)), canonical);
      assert.equal(canonicalIp(canonical!), canonical);
      assert.equal(ipLimitKey(spell(sameNetwork, upper, pad, at)), ipLimitKey(canonical!));
    }),
    { numRuns: 500 },
  );
});

Deno.test("clientAddress() believes X-Forwarded-For only from trusted proxies, compared canonically", () => {
  const loopback = ["127.0.0.1", "::1"];
  const key = (peer: string, xff: string | null, trusted: readonly string[] = loopback) => {
    const client = clientAddress(peer, xff, trusted);
    assert.ok(client.ok, JSON.stringify(client));
    return client.limitKey;
  };
  assert.equal(key("127.0.0.1", null), "127.0.0.1");
  assert.equal(key("127.0.0.1", "203.0.113.9"), "203.0.113.9");
  assert.equal(key("127.0.0.1", "203.0.113.9, 127.0.0.1"), "203.0.113.9");
  // The peer as Deno reports it on a dual-stack socket, and the proxy list in other spellings.
  assert.equal(key("::ffff:127.0.0.1", "203.0.113.9"), "203.0.113.9");
  assert.equal(key("0:0:0:0:0:0:0:1", "203.0.113.9"), "203.0.113.9");
  assert.equal(key("::1", "203.0.113.9", ["0000::0001"]), "203.0.113.9");
  // An untrusted peer's header is ignored; entries left of the first untrusted hop are never read.
  assert.equal(key("198.51.100.7", "203.0.113.9"), "198.51.100.7");
  assert.equal(key("127.0.0.1", "garbage, 203.0.113.9"), "203.0.113.9");
  // Forwarded spellings of one IPv6 client, with ports, brackets and zones, all count as its /64.
  for (
    const entry of ["2001:db8::1", "2001:db8:0:0::1", "2001:0db8::0001", "[2001:db8::1]:443", "[2001:db8::1]"]
  ) {
    assert.equal(key("127.0.0.1", entry), "2001:db8::/64", entry);
  }
  assert.equal(key("127.0.0.1", "203.0.113.9:5678"), "203.0.113.9");
  assert.equal(key("127.0.0.1", "::ffff:203.0.113.9"), "203.0.113.9");
  assert.equal(key("127.0.0.1", "fe80::1%25eth0"), "fe80::/64");
  // Empty hops (",,") carry nothing; a header of only trusted hops names its leftmost.
  assert.equal(key("127.0.0.1", " , 203.0.113.9 ,"), "203.0.113.9");
  assert.equal(key("127.0.0.1", "::1, 127.0.0.1"), "::/64");
  // The full canonical address rides along for whoever wants it.
  const full = clientAddress("127.0.0.1", "2001:0DB8::0001", loopback);
  assert.deepEqual(full, { ok: true, address: "2001:db8::1", limitKey: "2001:db8::/64" });
});

Deno.test("clientAddress() matches CIDR ranges in TRUSTED_PROXIES", () => {
  const trusted = ["10.0.0.0/8", "2001:db8:ffff::/48", "::ffff:192.168.0.0/112"];
  const key = (peer: string, xff: string) => {
    const client = clientAddress(peer, xff, trusted);
    assert.ok(client.ok);
    return client.limitKey;
  };
  assert.equal(key("10.200.3.4", "203.0.113.9"), "203.0.113.9");
  assert.equal(key("11.0.0.1", "203.0.113.9"), "11.0.0.1");
  assert.equal(key("2001:db8:ffff:1::5", "203.0.113.9"), "203.0.113.9");
  assert.equal(key("2001:db8:fffe::5", "203.0.113.9"), "2001:db8:fffe::/64");
  assert.equal(key("192.168.7.7", "203.0.113.9"), "203.0.113.9");
  assert.equal(key("192.169.7.7", "203.0.113.9"), "192.169.7.7");
  // A chain of trusted proxies is walked past.
  assert.equal(key("10.0.0.2", "203.0.113.9, 10.9.9.9, 2001:db8:ffff::1"), "203.0.113.9");
  assert.deepEqual(invalidProxyEntries(["10.0.0.0/8", "::1", "10.0.0.0/33", "foo", "::/129", "1.2.3.4/"]), [
    "10.0.0.0/33",
    "foo",
    "::/129",
    "1.2.3.4/",
  ]);
});

Deno.test("clientAddress() refuses an oversized or unparsable entry from a trusted proxy", () => {
  const loopback = ["127.0.0.1"];
  const long = "1".repeat(3000);
  for (const xff of [long, `203.0.113.9, ${long}`, "unknown", "not-an-ip", "203.0.113.9, 999.1.1.1"]) {
    const client = clientAddress("127.0.0.1", xff, loopback);
    assert.equal(client.ok, false, xff.slice(0, 40));
  }
  const tooLong = clientAddress("127.0.0.1", "a".repeat(MAX_FORWARDED_ENTRY + 1), loopback);
  assert.deepEqual(tooLong, {
    ok: false,
    reason: `X-Forwarded-For entry is longer than ${MAX_FORWARDED_ENTRY} characters`,
  });
  // The same header from an untrusted peer is not read at all.
  assert.deepEqual(clientAddress("198.51.100.7", long, loopback), {
    ok: true,
    address: "198.51.100.7",
    limitKey: "198.51.100.7",
  });
  // The longest legal entry fits.
  const longest = "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%25abcdefghijklmnopqrstuvwxyz012345]:65535";
  assert.ok(longest.length <= MAX_FORWARDED_ENTRY);
  assert.equal(clientAddress("127.0.0.1", longest, loopback).ok, true);
});
