/**
 * Ports of the one source address every socket comes from. A client socket bound to that address takes one
 * of the kernel's ephemeral ports (`ip_local_port_range`, ~28,000) for as long as it lives and, if the client
 * closed first, for TIME_WAIT after. Every server here closes the TCP connection first (the WebSocket closing
 * handshake leaves that to the server), so TIME_WAIT sits on the server's side; this still checks, before
 * each workload, that the ports it needs are free, and waits for TIME_WAIT to drain when they are not.
 *
 * The load generator names each socket's port itself (`createPortCursor`). Left to the kernel, `bind()` to the
 * address with port 0 searches the range for a free port under a lock, longer as ports fill: opening 15,000
 * sockets, the load generator spent some two thirds of its time in that search (`inet_bhash2_conflict`, perf),
 * at 100 % of its one core, so the one-address figures measured it rather than the server.
 */
import { readFileSync } from "node:fs";

const TIME_WAIT = "06";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `127.0.0.2` as /proc/net/tcp writes it: the four bytes in host (little-endian) order, in hex. */
function procAddress(address) {
  return address.split(".").reverse().map((b) => Number(b).toString(16).padStart(2, "0")).join("")
    .toUpperCase();
}

function ephemeralRange() {
  const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
  return { low: Number(low), high: Number(high) };
}

function ephemeralPorts() {
  const { low, high } = ephemeralRange();
  return high - low + 1;
}

/**
 * Source ports handed out in turn over the ephemeral range, wrapping at its end: a port comes round again only
 * after every other has been used once, long after TIME_WAIT for any socket one run opens. A port still taken
 * (a socket held since the last round) fails its `bind()` with EADDRINUSE: the caller takes the next.
 */
export function createPortCursor() {
  const { low, high } = ephemeralRange();
  let next = low;
  return () => {
    const port = next;
    next = next === high ? low : next + 1;
    return port;
  };
}

/** TCP sockets with `address` at either end right now: its own (ports taken), and the servers' TIME_WAIT. */
export function socketsOf(address) {
  const hex = procAddress(address);
  let ownPorts = 0;
  let ownTimeWait = 0;
  let serverTimeWait = 0;
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const [, local, remote, state] = line.trim().split(/\s+/);
    if (!state) continue;
    if (local.startsWith(hex)) {
      ownPorts++;
      if (state === TIME_WAIT) ownTimeWait++;
    } else if (remote.startsWith(hex) && state === TIME_WAIT) {
      serverTimeWait++;
    }
  }
  return { ownPorts, ownTimeWait, serverTimeWait };
}

/**
 * `address`'s sockets once `done(seen)` holds, looked at once a second, or at most 70 s (past TIME_WAIT's 60)
 * after `first` was seen, whichever comes first.
 */
async function socketsWhen(address, first, done) {
  const deadline = performance.now() + 70_000;
  let seen = first;
  while (!done(seen) && performance.now() < deadline) {
    await sleep(1000);
    seen = socketsOf(address);
  }
  return seen;
}

/** Waits until `needed` ports of `address` are free (`socketsWhen`); logs what it saw. */
export async function ensurePorts(address, needed, log) {
  const total = ephemeralPorts();
  const first = socketsOf(address);
  log(
    `${address}: ${first.ownPorts} of ${total} ports taken (${first.ownTimeWait} in TIME_WAIT; servers' ` +
      `TIME_WAIT ${first.serverTimeWait}), ${needed} needed`,
  );
  if (needed > total) throw new Error(`${needed} sockets from ${address} need more than its ${total} ports`);
  const seen = await socketsWhen(address, first, (s) => total - s.ownPorts >= needed);
  if (total - seen.ownPorts < needed) log(`only ${total - seen.ownPorts} ports free after waiting`);
}

/**
 * Waits until the servers hold at most `atMost` connections from `address` in TIME_WAIT (`socketsWhen`); logs
 * the wait.
 */
export async function settleServerTimeWait(address, atMost, log) {
  const first = socketsOf(address);
  const settled = (s) => s.serverTimeWait <= atMost;
  if (!settled(first)) {
    log(
      `waiting for ${first.serverTimeWait} connections the server closed to leave TIME_WAIT (at most ${atMost})`,
    );
  }
  await socketsWhen(address, first, settled);
}
