import assert from "node:assert/strict";
import { checkPort, portInUseMessage } from "./port_probe.ts";

const ipv6 = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();
const loopback = ipv6 ? ["127.0.0.1", "::1"] : ["127.0.0.1"];

Deno.test("checkPort() passes a free port and lets go of it", () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = probe.addr as Deno.NetAddr;
  probe.close();
  const check = checkPort(loopback, port);
  assert.deepEqual(check, { ok: true, port, hosts: loopback, dropped: [] });
  Deno.listen({ hostname: "127.0.0.1", port }).close(); // let go: free again
});

Deno.test("checkPort() resolves port 0 to one port free on every host", () => {
  const check = checkPort(loopback, 0);
  assert.ok(check.ok);
  assert.ok(check.port > 0);
  for (const hostname of loopback) Deno.listen({ hostname, port: check.port }).close();
});

Deno.test("checkPort() refuses a port held by a plain listener, naming the port", () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = taken.addr as Deno.NetAddr;
  try {
    assert.deepEqual(checkPort(loopback, port), { ok: false, message: portInUseMessage(port) });
    assert.equal(portInUseMessage(port), `Port ${port} is already in use (set PORT to another port)`);
  } finally {
    taken.close();
  }
});

Deno.test("checkPort() refuses a port shared with SO_REUSEPORT, as a running instance's workers hold it", () => {
  const worker = Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort: true });
  const { port } = worker.addr as Deno.NetAddr;
  try {
    // Another reusePort listener would have joined it silently; the plain probe is refused.
    Deno.listen({ hostname: "127.0.0.1", port, reusePort: true }).close();
    assert.deepEqual(checkPort(["127.0.0.1"], port), { ok: false, message: portInUseMessage(port) });
  } finally {
    worker.close();
  }
});

Deno.test("checkPort() drops an optional host whose address this machine lacks, and names one that is not", () => {
  // 192.0.2.1 (TEST-NET-1) is nobody's address.
  const dropped = checkPort(["127.0.0.1", "192.0.2.1"], 0, ["192.0.2.1"]);
  assert.ok(dropped.ok);
  assert.deepEqual(dropped.hosts, ["127.0.0.1"]);
  assert.equal(dropped.dropped[0].host, "192.0.2.1");

  const refused = checkPort(["192.0.2.1"], 8123);
  assert.ok(!refused.ok);
  assert.match(
    refused.message,
    /^Cannot listen on http:\/\/192\.0\.2\.1:8123: .*\(set HOST to addresses of this machine\)$/,
  );
});
