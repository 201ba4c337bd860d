import assert from "node:assert/strict";
import { isOwnOrigin, originPolicy, type RequestFacts, requestSite } from "./origins.ts";

const request = (url: string, headers: Record<string, string>, peer = "203.0.113.9"): RequestFacts => ({
  url,
  headers: new Headers(headers),
  peer,
});

Deno.test("requestSite() reads Host, and X-Forwarded-Host/Proto only from a trusted proxy", () => {
  const proxied = {
    host: "10.0.0.5:8000",
    "x-forwarded-host": "realtime.example",
    "x-forwarded-proto": "https",
  };
  assert.deepEqual(requestSite(request("http://10.0.0.5:8000/ws", proxied, "10.0.0.2"), ["10.0.0.2"]), {
    host: "realtime.example",
    protocol: "https:",
  });
  assert.deepEqual(requestSite(request("http://10.0.0.5:8000/ws", proxied, "198.51.100.7"), ["10.0.0.2"]), {
    host: "10.0.0.5:8000",
    protocol: "http:",
  });
  // The proxy nearest the client wrote the first value; an IPv6 peer matches however it is spelled.
  const chained = {
    host: "x",
    "x-forwarded-host": "realtime.example, inner.lan",
    "x-forwarded-proto": "https,http",
  };
  assert.deepEqual(requestSite(request("http://x/ws", chained, "::1"), ["[::1]"]), {
    host: "realtime.example",
    protocol: "https:",
  });
  // A proxy trusted by range, as for X-Forwarded-For.
  assert.deepEqual(requestSite(request("http://x/ws", chained, "10.1.2.3"), ["10.0.0.0/8"]), {
    host: "realtime.example",
    protocol: "https:",
  });
});

Deno.test("isOwnOrigin(): the addressed host; https always, http only when the request was http", () => {
  const plain = { host: "127.0.0.1:8000", protocol: "http:" };
  assert.equal(isOwnOrigin("http://127.0.0.1:8000", plain), true);
  assert.equal(isOwnOrigin("http://127.0.0.1:8001", plain), false);
  assert.equal(isOwnOrigin("http://localhost:8000", plain), false);
  assert.equal(isOwnOrigin("http://[::1]:8000", { host: "[::1]:8000", protocol: "http:" }), true);
  // A TLS-terminating proxy that says nothing: the request came in as http, the page was https.
  const behindTls = { host: "realtime.example", protocol: "http:" };
  assert.equal(isOwnOrigin("https://realtime.example", behindTls), true);
  assert.equal(
    isOwnOrigin("https://realtime.example:443", { host: "realtime.example:443", protocol: "http:" }),
    true,
  );
  // A plain-http page at our name is not ours when we are reached over https.
  assert.equal(
    isOwnOrigin("http://realtime.example", { host: "realtime.example", protocol: "https:" }),
    false,
  );
  assert.equal(isOwnOrigin("https://evil.example", behindTls), false);
  assert.equal(isOwnOrigin("https://realtime.example.evil.example", behindTls), false);
  for (const odd of ["null", "", "file://", "chrome-extension://abc", "https://"]) {
    assert.equal(isOwnOrigin(odd, behindTls), false, odd);
  }
  assert.equal(isOwnOrigin("https://realtime.example", { host: null, protocol: "http:" }), false);
  assert.equal(isOwnOrigin("https://realtime.example", { host: "bad host/", protocol: "http:" }), false);
});

Deno.test("originPolicy(): listed origins (however written) or the service's own, nothing else", () => {
  const config = { allowedOrigins: ["https://app.example/"], trustedProxies: ["127.0.0.1"] };
  const policy = originPolicy(config);
  assert.equal(originPolicy(config), policy, "built once per config");
  const panel = request("http://10.0.0.5/ws", { host: "realtime.example" });
  assert.equal(policy.allows("https://app.example", panel), true);
  assert.equal(policy.allows("https://realtime.example", panel), true);
  assert.equal(policy.isOwn("https://app.example", panel), false);
  assert.equal(policy.allows("https://evil.example", panel), false);
  // An attacker's page cannot choose the Host its browser sends: evil.example's requests say evil.example.
  const fromEvil = request("http://10.0.0.5/ws", {
    host: "realtime.example",
    origin: "https://evil.example",
  });
  assert.equal(policy.allows("https://evil.example", fromEvil), false);
  // Forwarded headers from an untrusted peer do not make an origin ours.
  const forged = request("http://10.0.0.5/ws", {
    host: "realtime.example",
    "x-forwarded-host": "evil.example",
  });
  assert.equal(policy.allows("https://evil.example", forged), false);
});
