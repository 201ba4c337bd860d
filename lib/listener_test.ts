import assert from "node:assert/strict";
import { eventually } from "../tests/helpers/eventually.ts";
import { httpAddress, keepListening } from "./listener.ts";
import { createLogger } from "./log.ts";

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("debug", {}, (line) => lines.push(JSON.parse(line)));
  return { log, lines };
}

const hello = () => new Response("hello");

Deno.test("keepListening() serves the handler on the port it took, and close() ends it", async () => {
  const { log } = capturingLogger();
  const listener = await keepListening({
    hostname: "127.0.0.1",
    port: 0,
    reusePort: false,
    firstBind: "throw",
    handler: hello,
    log,
  });
  assert.ok(listener.addr.port > 0);
  const res = await fetch(`${httpAddress("127.0.0.1", listener.addr.port)}/`);
  assert.equal(await res.text(), "hello");
  listener.close();
  await listener.closed;
  await assert.rejects(fetch(`http://127.0.0.1:${listener.addr.port}/`));
});

Deno.test("keepListening() with firstBind: throw rejects at once when the port is taken", async () => {
  const { log } = capturingLogger();
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(
      keepListening({
        hostname: "127.0.0.1",
        port: (taken.addr as Deno.NetAddr).port,
        reusePort: false,
        firstBind: "throw",
        handler: hello,
        log,
      }),
      Deno.errors.AddrInUse,
    );
  } finally {
    taken.close();
  }
});

Deno.test("keepListening() with firstBind: retry keeps trying, with back-off and few warnings, until the port frees", async () => {
  const { log, lines } = capturingLogger();
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = taken.addr as Deno.NetAddr;
  const pending = keepListening({
    hostname: "127.0.0.1",
    port,
    reusePort: false,
    firstBind: "retry",
    handler: hello,
    log,
    backoffMs: 5,
    maxBackoffMs: 20,
  });
  // Wait for the fifth failure in a row, then let go of the port.
  await eventually(() => lines.length >= 5, 5000, "five failures to bind");
  taken.close();
  const listener = await pending;
  try {
    const failures = lines.filter((l) =>
      l.msg === "Listener could not bind; it tries again after a back-off"
    );
    assert.ok(failures.length >= 5);
    // Warn at the 1st, 2nd and 4th failure in a row, debug otherwise: a long spell costs few warnings.
    assert.deepEqual(
      failures.slice(0, 5).map((l) => l.level),
      ["warn", "warn", "debug", "warn", "debug"],
    );
    assert.deepEqual(failures.slice(0, 5).map((l) => l.retryInMs), [5, 10, 20, 20, 20]);
    assert.equal(failures[0].address, `http://127.0.0.1:${port}`);

    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await res.text(), "hello");
    const recovered = lines.find((l) => l.msg === "Listener accepting again");
    assert.equal(recovered?.level, "info");
  } finally {
    listener.close();
    await listener.closed;
  }
});

Deno.test("keepListening() with reusePort shares the port with another such listener", async () => {
  const { log } = capturingLogger();
  const options = {
    hostname: "127.0.0.1",
    reusePort: true,
    firstBind: "throw" as const,
    handler: hello,
    log,
  };
  const first = await keepListening({ ...options, port: 0 });
  const second = await keepListening({ ...options, port: first.addr.port });
  try {
    assert.equal(second.addr.port, first.addr.port);
  } finally {
    first.close();
    second.close();
    await Promise.all([first.closed, second.closed]);
  }
});
