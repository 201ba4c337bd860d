/**
 * The load generator: a separate Node process that drives one server (the service or a peer) over real
 * loopback sockets through the workloads its plan names, every socket from the plan's one source address,
 * reading the server's memory and CPU from /proc around each, and prints one JSON line of results. Node's
 * `ws` client is the cheapest client we have, which keeps the generator's share of the two cores small.
 *   node bench/loadgen.mjs <plan.json>      (written by bench/run.ts)
 */
import { Buffer } from "node:buffer";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import process from "node:process";
import { createClients } from "./clients.mjs";
import {
  cpuPer,
  latencyOf,
  mb,
  rssPerSocketKb,
  settledRssPerSocketKb,
  sleep,
  waitForQuiet,
} from "./measure.mjs";
import { burstAndClose, oneAddress, placesLeft } from "./one_address.mjs";
import { sampleTree, threadsOf } from "./proc.mjs";
import { ensurePorts, settleServerTimeWait } from "./source_ports.mjs";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { target, host, port, serverPid, sizes, sourceAddress } = plan;
const tokens = JSON.parse(readFileSync(plan.tokensFile, "utf8"));
/** The service in any of its runs speaks the service's protocol (webhooks, welcome frames, admin publishing). */
const isService = target.startsWith("service");

/** Bench frames carry `"title":"bench:<n>"`; the receipt is found without parsing the whole frame. */
const MARK = '"title":"bench:';
const agent = new Agent({ keepAlive: true, maxSockets: 8 });
const log = (msg) => process.stderr.write(`  [${target}] ${msg}\n`);

// ---- receipts and clients ---------------------------------------------------------------------------------

const sentAt = new Map();
let nextEvent = 0;
let received = 0;
let lastReceipt = 0;
/** Latency samples per client group while a workload records them; null otherwise. */
let samples = null;

function onFrame(client, text) {
  const at = text.indexOf(MARK);
  if (at < 0) return;
  received++;
  lastReceipt = performance.now();
  if (!samples) return;
  const sent = sentAt.get(parseInt(text.slice(at + MARK.length), 10));
  if (sent !== undefined) (samples[client.group] ??= []).push(lastReceipt - sent);
}

const clients = createClients({ target, host, port, sourceAddress, onFrame });

/** Opens `count` sockets of distinct users from the one address; refusals are counted, not thrown. */
async function openHeld(count) {
  await ensurePorts(sourceAddress, count, log);
  const opened = await clients.openMany(tokens, count);
  const refusals = Object.values(opened.refused).reduce((a, b) => a + b, 0);
  if (refusals) log(`${refusals} of ${count} sockets refused: ${JSON.stringify(opened.refused)}`);
  return opened;
}

// ---- publishing -------------------------------------------------------------------------------------------

const webhookKey = plan.webhookSecret
  ? Buffer.from(plan.webhookSecret.replace(/^whsec_/, ""), "base64")
  : null;

function post(path, body, headers) {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: "POST", agent, headers }, (res) => {
      res.resume();
      res.on(
        "end",
        () => res.statusCode < 300 ? resolve() : reject(new Error(`POST ${path} answered ${res.statusCode}`)),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

const announcement = (n) => ({ title: `bench:${n}`, message: "Benchmark announcement", priority: "low" });

/** Publishes one announcement to every socket: the signed webhook for the service, POST /publish for peers. */
function publish() {
  const n = nextEvent++;
  if (isService) {
    const body = JSON.stringify({ type: "announcement.published", data: announcement(n) });
    const id = `msg_bench_${process.pid}_${n}`;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const mac = createHmac("sha256", webhookKey).update(`${id}.${timestamp}.${body}`).digest("base64");
    sentAt.set(n, performance.now());
    return post("/api/webhooks/events", body, {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": timestamp,
      "webhook-signature": `v1,${mac}`,
    });
  }
  const body = JSON.stringify({
    type: "system_announcement",
    data: announcement(n),
    timestamp: new Date().toISOString(),
  });
  sentAt.set(n, performance.now());
  return post("/publish", body, { "content-type": "application/json" });
}

/** Publishes one announcement from a socket (an admin frame for the service, any frame for a peer). */
function publishFrom(client) {
  const n = nextEvent++;
  const frame = isService
    ? { type: "system_announcement", data: announcement(n) }
    : { type: "system_announcement", data: announcement(n), timestamp: new Date().toISOString() };
  sentAt.set(n, performance.now());
  client.send(JSON.stringify(frame));
}

/** Calls `task` `count` times at a fixed rate (per second), without waiting for one call before the next. */
async function atRate(count, rate, task) {
  const start = performance.now();
  const pending = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(task());
  }
  await Promise.all(pending);
}

async function waitForReceipts(expected, ms) {
  const deadline = performance.now() + ms;
  while (received < expected && performance.now() < deadline) await sleep(5);
}

// ---- which worker holds a socket --------------------------------------------------------------------------

/** The service's socket → isolate map, from its connection records (bench/isolates.ts reads the KV file). */
function isolatesOf() {
  const [command, ...args] = plan.isolatesCommand;
  return new Map(Object.entries(JSON.parse(execFileSync(command, args, { maxBuffer: 64 << 20 }).toString())));
}

/** The isolate (service) or worker (bare Deno peer) that holds a client, from its first frame. */
const holderOf = (client, isolates) =>
  isService ? isolates.get(JSON.parse(client.first).data.connectionId) : JSON.parse(client.first).data.worker;

// ---- workloads --------------------------------------------------------------------------------------------

/**
 * When, after the last idle socket opened, its settled RSS is read (see idleAndFanOut): once a second over
 * this window, after the burst's collections and the service's release of its memory, on every target alike.
 */
const RSS_SETTLED_WINDOW = { fromMs: 20_000, untilMs: 50_000 };

/**
 * Connections the server closed that may still be in TIME_WAIT when the idle workload starts: what the steady
 * workload's 1,000 sockets leave. In a paired round the service's idle run comes right after the two
 * one-address runs, whose 30,000 closed connections would otherwise expire, all within a second or two, during
 * its fan-out (bare Deno's run starts with ~1,000); both sides now start alike.
 */
const IDLE_START_TIME_WAIT = 2_000;

async function idleAndFanOut(results) {
  const n = sizes.idleSockets;
  log(`holding ${n} idle sockets`);
  await settleServerTimeWait(sourceAddress, IDLE_START_TIME_WAIT, log);
  await waitForQuiet(serverPid);
  const before = sampleTree(serverPid);
  const t0 = performance.now();
  const { clients: held, refused } = await openHeld(n);
  const connectSeconds = (performance.now() - t0) / 1000;
  const opened = performance.now();
  await sleep(1500); // let welcomes, records and garbage settle
  const after = sampleTree(serverPid);
  // What the sockets cost once held, not the burst that opened them: V8 keeps the heap a burst grew, garbage
  // and freed pages included, until its memory reducer runs (8 s after a full collection) and gives pooled
  // pages back (8 s later); from then on the heap swings with each collection. Both figures are reported;
  // the target judges the settled one, the median of the window's readings.
  const settled = await settledRssPerSocketKb(serverPid, before, held.length, opened, RSS_SETTLED_WINDOW);
  results.idle = {
    attempted: n,
    sockets: held.length,
    refused,
    connectSeconds: Math.round(connectSeconds * 100) / 100,
    rssBeforeMb: mb(before.rssBytes),
    rssAfterMb: mb(after.rssBytes),
    rssAfterBurstPerSocketKb: rssPerSocketKb(before, after, held.length),
    rssPerSocketKb: settled.median,
    rssSettledRangeKb: [settled.lowest, settled.highest],
    cpuUsPerSocket: cpuPer(before, after, held.length),
    processes: after.processes,
  };
  if (isService) {
    const perIsolate = {};
    for (const isolate of isolatesOf().values()) perIsolate[isolate] = (perIsolate[isolate] ?? 0) + 1;
    results.idle.perIsolate = Object.values(perIsolate).sort((a, b) => b - a);
  }

  const k = sizes.fanoutEvents;
  log(`fan-out: ${k} announcements to ${held.length} sockets`);
  await waitForQuiet(serverPid);
  received = 0;
  const f0 = sampleTree(serverPid);
  const start = performance.now();
  for (let i = 0; i < k; i++) await publish();
  await waitForReceipts(k * held.length, 120_000);
  const f1 = sampleTree(serverPid);
  const seconds = (lastReceipt - start) / 1000;
  results.fanout = {
    sockets: held.length,
    events: k,
    delivered: received,
    lost: k * held.length - received,
    seconds: Math.round(seconds * 1000) / 1000,
    framesPerSecond: Math.round(received / seconds),
    cpuUsPerFrame: cpuPer(f0, f1, received),
  };
  log(`closing ${held.length} sockets`);
  const c0 = sampleTree(serverPid);
  await clients.closeAll(held);
  // The service gives the memory a burst freed back once its socket count has held still for a while
  // (lib/burst_watch.ts). This burst's release is waited for here, on every target alike, and its CPU is
  // reported with the closing: otherwise it lands in the next workload's window (in the steady one the trim
  // alone took 0.15–0.17 s of the service's main thread, against 0.02–0.06 s with none due).
  await sleep(plan.closeSettleMs);
  const c1 = sampleTree(serverPid);
  results.idle.closeCpuUsPerSocket = cpuPer(c0, c1, held.length);
}

async function handshakes(results) {
  const total = sizes.handshakes;
  const concurrency = sizes.handshakeConcurrency;
  log(`${total} authenticated handshakes, ${concurrency} in flight`);
  await ensurePorts(sourceAddress, concurrency, log);
  await waitForQuiet(serverPid);
  const before = sampleTree(serverPid);
  const closing = [];
  const refused = {};
  let opened = 0;
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      try {
        const client = await clients.open(tokens[next++ % tokens.length]);
        opened++;
        client.close();
        closing.push(client.closed);
      } catch (error) {
        const reason = clients.reasonOf(error);
        refused[reason] = (refused[reason] ?? 0) + 1;
      }
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  await Promise.race([Promise.all(closing), sleep(30_000)]);
  await sleep(500);
  const after = sampleTree(serverPid);
  results.handshakes = {
    count: total,
    opened,
    refused,
    seconds: Math.round(seconds * 1000) / 1000,
    perSecond: Math.round(opened / seconds),
    cpuUsPerHandshake: cpuPer(before, after, total),
  };
}

async function steady(results) {
  const { steadySockets: n, steadyRate: rate, steadySeconds } = sizes;
  const count = Math.round(rate * steadySeconds);
  log(`steady: ${rate} webhooks/s for ${steadySeconds} s to ${n} sockets`);
  const { clients: held, refused } = await openHeld(n);
  await waitForQuiet(serverPid);
  received = 0;
  samples = {};
  const before = sampleTree(serverPid);
  await atRate(count, rate, publish);
  await waitForReceipts(count * held.length, 15_000);
  const after = sampleTree(serverPid);
  results.steady = {
    attempted: n,
    sockets: held.length,
    refused,
    webhooksPerSecond: rate,
    events: count,
    delivered: received,
    lost: count * held.length - received,
    ...latencyOf(samples.all),
    cpuUsPerFrame: cpuPer(before, after, received),
  };
  samples = null;
  await clients.closeAll(held);
  await sleep(500);
}

/**
 * Events published with no socket attached: what an event costs the server before its first frame. At the
 * steady workload's rate for its window, so that the two differ only in the sockets (bench/figures.ts).
 */
async function events(results) {
  const { steadyRate: rate, steadySeconds } = sizes;
  const count = Math.round(rate * steadySeconds);
  log(`events: ${count} publications at ${rate}/s, no sockets`);
  await waitForQuiet(serverPid);
  const before = sampleTree(serverPid);
  await atRate(count, rate, publish);
  await sleep(200); // the other worker's share (relay receipt) of the last events
  const after = sampleTree(serverPid);
  results.events = { events: count, perSecond: rate, cpuUsPerEvent: cpuPer(before, after, count) };
}

async function relay(results) {
  if (!plan.relay) return; // one-process peers have no workers to relay between
  const { relaySockets: n, relayMessages: count, relayRate: rate } = sizes;
  log(`relay: ${count} publications across workers to ${n} sockets`);
  const { clients: held, refused } = await openHeld(n);
  // The service publishes only from an admin socket; a peer takes any frame from any socket.
  const publisher = isService ? await clients.open(plan.adminToken).catch(clients.reasonOf) : held[0];
  if (typeof publisher === "string") {
    log(`the admin socket that publishes was refused: ${publisher}`);
    results.relay = { sockets: held.length, refused, publisherRefused: publisher };
    return await clients.closeAll(held);
  }
  await waitForQuiet(serverPid); // connection records are saved asynchronously
  const isolates = isService ? isolatesOf() : null;
  const home = holderOf(publisher, isolates);
  publisher.group = "publisher";
  for (const c of held) c.group = holderOf(c, isolates) === home ? "local" : "remote";
  const remote = held.filter((c) => c.group === "remote").length;
  log(`${remote} of ${held.length} sockets are on another worker than the publisher`);
  received = 0;
  samples = {};
  const before = sampleTree(serverPid);
  await atRate(count, rate, () => publishFrom(publisher));
  // The service's publisher is an extra socket, and it too reads stream "all".
  const expected = count * (held.length + (isService ? 1 : 0));
  await waitForReceipts(expected, 15_000);
  const after = sampleTree(serverPid);
  results.relay = {
    sockets: held.length,
    refused,
    remoteSockets: remote,
    events: count,
    delivered: received,
    lost: expected - received,
    remote: latencyOf(samples.remote),
    local: latencyOf(samples.local),
    cpuUsPerFrame: cpuPer(before, after, received),
  };
  samples = null;
  if (isService) held.push(publisher);
  await clients.closeAll(held);
}

const WORKLOADS = { idleAndFanOut, handshakes, steady, events, relay, oneAddress, burstAndClose, placesLeft };
/** What the workloads of bench/one_address.mjs share with this file. */
const context = { plan, sizes, serverPid, sourceAddress, tokens, clients, log };

// A service run says which limits it ran with: `{perUser, perIp}`, or "off" for the limits-off comparison.
const results = plan.limits ? { target, limits: plan.limits } : { target };
for (const name of plan.workloads) {
  try {
    await WORKLOADS[name](results, context);
  } catch (error) {
    // The other workloads still run; bench/run.ts reports the error and exits 1.
    log(`${name} failed: ${error?.stack ?? error}`);
    (results.errors ??= []).push(`${name}: ${error?.message ?? error}`);
  }
  // BENCH_THREADS=1: where the server's CPU went so far, by thread (JS workers, KV, tokio…).
  if (process.env.BENCH_THREADS) {
    log(`after ${name}, CPU s by thread: ${JSON.stringify(threadsOf(serverPid))}`);
  }
}
agent.destroy();
process.stdout.write(JSON.stringify(results) + "\n");
process.exit(0);
