/**
 * The load generator: a separate Node process that drives one server (the service or a peer) over real
 * loopback sockets through the five workloads, reading the server's memory and CPU from /proc around each,
 * and prints one JSON line of results. Node's `ws` client is the cheapest client we have, which keeps the
 * generator's share of the two cores small.
 *   node bench/loadgen.mjs <plan.json>      (written by bench/run.ts)
 */
import { Buffer } from "node:buffer";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { createRequire } from "node:module";
import process from "node:process";
import { sampleTree, threadsOf } from "./proc.mjs";

const require = createRequire(new URL("./peers/package.json", import.meta.url));
const WebSocket = require("ws");
const { io } = require("socket.io-client");

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { target, host, port, serverPid, sizes } = plan;
const tokens = JSON.parse(readFileSync(plan.tokensFile, "utf8"));
const isService = target === "service";

/** Source addresses rotate over 127.0.0.2… so that ephemeral ports never run short. */
const LOCAL_ADDRESSES = 16;
/** Bench frames carry `"title":"bench:<n>"`; the receipt is found without parsing the whole frame. */
const MARK = '"title":"bench:';
const agent = new Agent({ keepAlive: true, maxSockets: 8 });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (msg) => process.stderr.write(`  [${target}] ${msg}\n`);

// ---- receipts ---------------------------------------------------------------------------------------------

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

// ---- clients ----------------------------------------------------------------------------------------------

let opened = 0;

/** Opens one authenticated socket; resolves with the client once its first frame (welcome/hello) arrived. */
function open(token) {
  const localAddress = `127.0.0.${2 + (opened++ % LOCAL_ADDRESSES)}`;
  return new Promise((resolve, reject) => {
    const client = { group: "all", first: null, send: null, close: null, closed: null };
    const first = (text) => {
      client.first = text;
      resolve(client);
    };
    if (target === "socketio") {
      const socket = io(`http://${host}:${port}`, {
        transports: ["websocket"],
        auth: { token },
        reconnection: false,
        forceNew: true,
        localAddress,
      });
      client.closed = new Promise((done) => socket.on("disconnect", done));
      client.send = (text) => socket.emit("message", text);
      client.close = () => socket.disconnect();
      socket.on("message", (text) => client.first === null ? first(text) : onFrame(client, text));
      socket.on("connect_error", reject);
      return;
    }
    const ws = new WebSocket(`ws://${host}:${port}/ws`, ["realtime.v1", token], {
      localAddress,
      perMessageDeflate: false,
    });
    client.closed = new Promise((done) => ws.on("close", done));
    client.send = (text) => ws.send(text);
    client.close = () => ws.close();
    ws.on("message", (data) => {
      const text = data.toString();
      client.first === null ? first(text) : onFrame(client, text);
    });
    ws.on("error", reject);
    ws.on("close", (code) => client.first === null && reject(new Error(`Closed ${code} before the welcome`)));
  });
}

/** Opens `count` sockets with distinct users, `concurrency` handshakes in flight. */
async function openMany(count, concurrency = 200, offset = 0) {
  const clients = new Array(count);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const i = next++;
      clients[i] = await open(tokens[(offset + i) % tokens.length]);
    }
  }));
  return clients;
}

async function closeAll(clients, ms = 30_000) {
  for (const c of clients) c.close();
  await Promise.race([Promise.all(clients.map((c) => c.closed)), sleep(ms)]);
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

/**
 * Waits until the server's CPU use falls below a fifth of a core (or 10 s pass), so that a workload does not
 * measure the tail of the previous one: closing 10,000 sockets, or a collector catching up.
 */
async function waitForQuiet() {
  const deadline = performance.now() + 10_000;
  let last = sampleTree(serverPid).cpuSeconds;
  while (performance.now() < deadline) {
    await sleep(250);
    const now = sampleTree(serverPid).cpuSeconds;
    if (now - last < 0.05) return;
    last = now;
  }
}

async function waitForReceipts(expected, ms) {
  const deadline = performance.now() + ms;
  while (received < expected && performance.now() < deadline) await sleep(5);
}

// ---- measuring --------------------------------------------------------------------------------------------

function percentile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;
}

function latencyOf(values = []) {
  const sorted = Float64Array.from(values).sort();
  const round = (v) => (v === null ? null : Math.round(v * 100) / 100);
  return {
    samples: sorted.length,
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    maxMs: round(sorted.length ? sorted[sorted.length - 1] : null),
  };
}

/** Server CPU (µs) per unit of work between two samples. */
const cpuPer = (before, after, units) =>
  units > 0 ? Math.round(((after.cpuSeconds - before.cpuSeconds) * 1e6) / units * 100) / 100 : null;
const mb = (bytes) => Math.round(bytes / 1e5) / 10;

/** The service's socket → isolate map, from its connection records (bench/isolates.ts reads the KV file). */
function isolatesOf() {
  const [command, ...args] = plan.isolatesCommand;
  return new Map(Object.entries(JSON.parse(execFileSync(command, args, { maxBuffer: 64 << 20 }).toString())));
}

/** The isolate (service) or worker (bare Deno peer) that holds a client, from its first frame. */
const holderOf = (client, isolates) =>
  isService ? isolates.get(JSON.parse(client.first).data.connectionId) : JSON.parse(client.first).data.worker;

// ---- workloads --------------------------------------------------------------------------------------------

async function idleAndFanOut(results) {
  const n = sizes.idleSockets;
  log(`holding ${n} idle sockets`);
  await waitForQuiet();
  const before = sampleTree(serverPid);
  const t0 = performance.now();
  const clients = await openMany(n);
  const connectSeconds = (performance.now() - t0) / 1000;
  await sleep(1500); // let welcomes, records and garbage settle
  const after = sampleTree(serverPid);
  results.idle = {
    sockets: n,
    connectSeconds: Math.round(connectSeconds * 100) / 100,
    rssBeforeMb: mb(before.rssBytes),
    rssAfterMb: mb(after.rssBytes),
    rssPerSocketKb: Math.round((after.rssBytes - before.rssBytes) / n / 102.4) / 10,
    cpuUsPerSocket: cpuPer(before, after, n),
    processes: after.processes,
  };
  if (isService) {
    const perIsolate = {};
    for (const isolate of isolatesOf().values()) perIsolate[isolate] = (perIsolate[isolate] ?? 0) + 1;
    results.idle.perIsolate = Object.values(perIsolate).sort((a, b) => b - a);
  }

  const k = sizes.fanoutEvents;
  log(`fan-out: ${k} announcements to ${n} sockets`);
  await waitForQuiet();
  received = 0;
  const f0 = sampleTree(serverPid);
  const start = performance.now();
  for (let i = 0; i < k; i++) await publish();
  await waitForReceipts(k * n, 60_000);
  const f1 = sampleTree(serverPid);
  const seconds = (lastReceipt - start) / 1000;
  results.fanout = {
    sockets: n,
    events: k,
    delivered: received,
    lost: k * n - received,
    seconds: Math.round(seconds * 1000) / 1000,
    framesPerSecond: Math.round(received / seconds),
    cpuUsPerFrame: cpuPer(f0, f1, received),
  };
  log(`closing ${n} sockets`);
  await closeAll(clients);
  await sleep(1000);
}

async function handshakes(results) {
  const total = sizes.handshakes;
  const concurrency = sizes.handshakeConcurrency;
  log(`${total} authenticated handshakes, ${concurrency} in flight`);
  await waitForQuiet();
  const before = sampleTree(serverPid);
  const closing = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const client = await open(tokens[next++ % tokens.length]);
      client.close();
      closing.push(client.closed);
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  await Promise.race([Promise.all(closing), sleep(30_000)]);
  await sleep(500);
  const after = sampleTree(serverPid);
  results.handshakes = {
    count: total,
    seconds: Math.round(seconds * 1000) / 1000,
    perSecond: Math.round(total / seconds),
    cpuUsPerHandshake: cpuPer(before, after, total),
  };
}

async function steady(results) {
  const { steadySockets: n, steadyRate: rate, steadySeconds } = sizes;
  const count = Math.round(rate * steadySeconds);
  log(`steady: ${rate} webhooks/s for ${steadySeconds} s to ${n} sockets`);
  const clients = await openMany(n);
  await waitForQuiet();
  received = 0;
  samples = {};
  const before = sampleTree(serverPid);
  await atRate(count, rate, publish);
  await waitForReceipts(count * n, 15_000);
  const after = sampleTree(serverPid);
  results.steady = {
    sockets: n,
    webhooksPerSecond: rate,
    events: count,
    delivered: received,
    lost: count * n - received,
    ...latencyOf(samples.all),
    cpuUsPerFrame: cpuPer(before, after, received),
  };
  samples = null;
  await closeAll(clients);
  await sleep(500);
}

/** Events published with no socket attached: what an event costs the server before its first frame. */
async function events(results) {
  const { eventCount: count, eventRate: rate } = sizes;
  log(`events: ${count} publications at ${rate}/s, no sockets`);
  await waitForQuiet();
  const before = sampleTree(serverPid);
  await atRate(count, rate, publish);
  await sleep(200); // the other worker's share (relay receipt) of the last events
  const after = sampleTree(serverPid);
  results.events = { events: count, perSecond: rate, cpuUsPerEvent: cpuPer(before, after, count) };
}

async function relay(results) {
  const { relaySockets: n, relayMessages: count, relayRate: rate } = sizes;
  log(`relay: ${count} publications across workers to ${n} sockets`);
  const clients = await openMany(n);
  // The service publishes only from an admin socket; a peer takes any frame from any socket.
  const publisher = isService ? await open(plan.adminToken) : clients[0];
  await waitForQuiet(); // connection records are saved asynchronously
  const isolates = isService ? isolatesOf() : null;
  const home = holderOf(publisher, isolates);
  publisher.group = "publisher";
  for (const c of clients) c.group = holderOf(c, isolates) === home ? "local" : "remote";
  const remote = clients.filter((c) => c.group === "remote").length;
  log(`${remote} of ${n} sockets are on another worker than the publisher`);
  received = 0;
  samples = {};
  const before = sampleTree(serverPid);
  await atRate(count, rate, () => publishFrom(publisher));
  // The service's publisher is an extra socket, and it too reads stream "all".
  const expected = count * (n + (isService ? 1 : 0));
  await waitForReceipts(expected, 15_000);
  const after = sampleTree(serverPid);
  results.relay = {
    sockets: n,
    remoteSockets: remote,
    events: count,
    delivered: received,
    lost: expected - received,
    remote: latencyOf(samples.remote),
    local: latencyOf(samples.local),
    cpuUsPerFrame: cpuPer(before, after, received),
  };
  samples = null;
  if (isService) clients.push(publisher);
  await closeAll(clients);
}

const results = { target };
for (const [name, run] of Object.entries({ idleAndFanOut, handshakes, steady, events, relay })) {
  if (name === "relay" && !plan.relay) continue;
  if (plan.workloads && !plan.workloads.some((w) => name.toLowerCase().includes(w))) continue;
  await run(results);
  // BENCH_THREADS=1: where the server's CPU went so far, by thread (JS workers, KV, tokio…).
  if (process.env.BENCH_THREADS) {
    log(`after ${name}, CPU s by thread: ${JSON.stringify(threadsOf(serverPid))}`);
  }
}
agent.destroy();
process.stdout.write(JSON.stringify(results) + "\n");
process.exit(0);
