/**
 * Workloads of one address: thousands of users behind one carrier-grade NAT, as the service meets them with
 * its limits on. `oneAddress` opens sockets of distinct users as fast as it can and holds them; `burstAndClose`
 * bursts past a per-IP limit and closes every socket at once; both, and `placesLeft` after the other
 * workloads, read the service's KV file afterwards for connection places still taken (a leak locks the address
 * out).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { cpuPer, latencyOf, rssPerSocketKb, sleep, waitForQuiet } from "./measure.mjs";
import { sampleTree } from "./proc.mjs";
import { ensurePorts } from "./source_ports.mjs";

/** How long the places may take to come back once the last socket closed: "within seconds". */
const PLACES_FREE_WITHIN_MS = 20_000;
/** Handshakes in flight when opening "as fast as possible": hundreds at once, as a NAT's users reconnect. */
const ONE_ADDRESS_CONCURRENCY = 256;
const BURST_CONCURRENCY = 500;

const run = promisify(execFile);

/** `{byUser, byIp}` places taken now, read by bench/places.ts from the service's KV file. */
async function readPlaces(plan) {
  const [command, ...args] = plan.placesCommand;
  return JSON.parse((await run(command, args)).stdout);
}

/**
 * Polls the places until none is taken or the wait is over: how many are left, and how long after
 * `closedAt` (ms, `performance.now()`) the last came back (null when some never did).
 */
async function placesLeftAfter(plan, closedAt) {
  for (;;) {
    const taken = await readPlaces(plan);
    const leaked = taken.byUser + taken.byIp;
    const waited = Math.round(performance.now() - closedAt);
    if (leaked === 0) return { leaked, ...taken, freeAfterMs: waited };
    if (waited > PLACES_FREE_WITHIN_MS) return { leaked, ...taken, freeAfterMs: null, waitedMs: waited };
    await sleep(500);
  }
}

/** Sockets of distinct users from the one address, opened as fast as possible and held. */
export async function oneAddress(results, ctx) {
  const { sizes, serverPid, clients, log } = ctx;
  const n = sizes.oneAddressSockets;
  await ensurePorts(ctx.sourceAddress, n, log);
  log(`one address: ${n} users' sockets from ${ctx.sourceAddress}, ${ONE_ADDRESS_CONCURRENCY} in flight`);
  await waitForQuiet(serverPid);
  const before = sampleTree(serverPid);
  const start = performance.now();
  const opened = await clients.openMany(ctx.tokens, n, { concurrency: ONE_ADDRESS_CONCURRENCY });
  const seconds = (performance.now() - start) / 1000;
  await sleep(1500); // sockets the server closes after their welcome are not held
  const after = sampleTree(serverPid);
  const held = opened.clients.filter((c) => c.isOpen()).length;
  results.oneAddress = {
    attempted: n,
    opened: opened.clients.length,
    held,
    refused: opened.refused,
    seconds: Math.round(seconds * 1000) / 1000,
    perSecond: Math.round(opened.clients.length / seconds),
    handshake: latencyOf(opened.handshakeMs),
    // Refused handshakes cost the server too: CPU per attempt.
    cpuUsPerHandshake: cpuPer(before, after, n),
    rssPerSocketKb: rssPerSocketKb(before, after, held),
  };
  log(`held ${held} of ${n}, ${results.oneAddress.perSecond} handshakes/s; closing them all at once`);
  await clients.closeAll(opened.clients);
}

/** A burst past the per-IP limit from one address; every socket then closed at once; places counted. */
export async function burstAndClose(results, ctx) {
  const { serverPid, clients, log } = ctx;
  const limit = ctx.plan.limits.perIp;
  // The burst of README "Benchmarks" (burst and close): 120 against a limit of 50; a fifth over larger
  // limits.
  const n = Math.max(limit + 70, Math.ceil(limit * 1.2));
  await ensurePorts(ctx.sourceAddress, n, log);
  log(`burst: ${n} handshakes against a per-IP limit of ${limit}, ${BURST_CONCURRENCY} in flight`);
  await waitForQuiet(serverPid);
  const start = performance.now();
  const opened = await clients.openMany(ctx.tokens, n, { concurrency: BURST_CONCURRENCY });
  const seconds = (performance.now() - start) / 1000;
  await sleep(500);
  const held = opened.clients.filter((c) => c.isOpen()).length;
  log(`held ${held}; closing them all at once`);
  await clients.closeAll(opened.clients);
  results.burstAndClose = {
    limit,
    attempted: n,
    held,
    refused: opened.refused,
    seconds: Math.round(seconds * 1000) / 1000,
    handshake: latencyOf(opened.handshakeMs),
    places: await placesLeftAfter(ctx.plan, performance.now()),
  };
}

/** Once every other workload has closed its sockets: the places still taken. */
export async function placesLeft(results, ctx) {
  ctx.log("places left once every socket is closed");
  results.placesLeft = await placesLeftAfter(ctx.plan, performance.now());
}
