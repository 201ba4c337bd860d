import assert from "node:assert/strict";
import { createLiveness } from "./liveness.ts";
import { createLogger } from "./log.ts";

/** A stand-in for a freshly upgraded socket: Deno keeps the idle timeout under this symbol. */
function fakeSocket(idleTimeoutSeconds: number): WebSocket {
  return { [Symbol("[[idleTimeout]]")]: idleTimeoutSeconds } as unknown as WebSocket;
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: createLogger("debug", {}, (line) => lines.push(JSON.parse(line))) };
}

Deno.test("createLiveness(): Deno's idle timeout is the connection timeout, whatever the heartbeat", () => {
  const { log } = capture();
  for (const [heartbeat, timeout] of [[1000, 4000], [25_000, 30_000], [2000, 4000], [40_000, 30_000]]) {
    assert.equal(createLiveness(heartbeat, timeout, log).idleTimeoutSeconds, timeout / 1000);
  }
});

Deno.test("createLiveness(): a heartbeat of half the timeout or more leaves Deno's own ping alone", () => {
  const { log, lines } = capture();
  const socket = fakeSocket(30);
  createLiveness(25_000, 30_000, log).watch(socket);
  assert.equal(Object.getOwnPropertySymbols(socket).length, 1);
  assert.equal(lines.length, 0);
});

Deno.test("createLiveness(): without Deno's internals, one warning and Deno's ping at half the timeout", () => {
  const { log, lines } = capture();
  const liveness = createLiveness(1000, 4000, log, {});
  const sockets = [fakeSocket(4), fakeSocket(4), fakeSocket(4)];
  for (const socket of sockets) liveness.watch(socket);
  assert.equal(liveness.idleTimeoutSeconds, 4);
  for (const socket of sockets) {
    assert.equal(Object.getOwnPropertySymbols(socket).length, 1, "left untouched");
  }
  assert.equal(lines.length, 1);
  assert.equal(lines[0].level, "warn");
  assert.equal(lines[0].pingAfterMs, 2000);
});

Deno.test("createLiveness(): with Deno's internals, each socket re-arms at the heartbeat, then the rest", () => {
  const { log, lines } = capture();
  const rearm = Symbol("[[serverHandleIdleTimeout]]");
  const seen: number[] = [];
  const prototype = {
    [rearm](this: Record<symbol, number>) {
      // Deno reads its idle timeout when it arms the ping; we look at what it would read then.
      seen.push(this[idle]);
    },
  };
  const socket = fakeSocket(4);
  const idle = Object.getOwnPropertySymbols(socket)[0];
  createLiveness(1000, 4000, log, prototype).watch(socket);
  (socket as unknown as Record<symbol, () => void>)[rearm]();
  assert.deepEqual(seen, [2], "the ping comes after one heartbeat (Deno pings at half of what it reads)");
  assert.equal((socket as unknown as Record<symbol, number>)[idle], 6, "then the close 3 s after the ping");
  assert.equal(lines.length, 0);
});
