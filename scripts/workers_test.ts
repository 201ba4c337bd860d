import assert from "node:assert/strict";
import { createLogger } from "../lib/log.ts";
import { eventually } from "../tests/helpers/eventually.ts";
import { startWorkerPool, WorkerStartError } from "./workers.ts";

async function standIn(mode: string, journal = "") {
  const marker = `${await Deno.makeTempDir({ prefix: "stand_in_" })}/faulted`;
  const query = `mode=${mode}&marker=${marker}&journal=${journal}`;
  return new URL(`../tests/helpers/stand_in_worker.js?${query}`, import.meta.url);
}

function pool(workerUrl: URL, count = 2, trimNativeMemory: (() => boolean) | null = null) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("debug", {}, (line) => lines.push(JSON.parse(line)));
  const workers = startWorkerPool({
    count,
    hosts: ["127.0.0.1"],
    port: 0,
    logLevel: "info",
    log,
    workerUrl,
    beatTimeoutMs: 1500,
    trimNativeMemory,
  });
  const logged = (msg: string, worker: number) =>
    eventually(() => Promise.resolve(lines.find((l) => l.msg === msg && l.worker === worker)), 15_000, msg);
  return { workers, lines, logged };
}

Deno.test("startWorkerPool() is ready once every worker listens, and stop() waits for each to stop", async () => {
  const { workers, lines } = pool(await standIn("ok"), 3);
  assert.deepEqual(
    await workers.ready,
    ["http://stand-in:2"].filter(() => false).concat(await workers.ready),
  );
  assert.match((await workers.ready)[0], /^http:\/\/stand-in:\d$/);
  await workers.stop();
  assert.deepEqual(lines, []);
});

Deno.test("startWorkerPool() replaces a worker that dies of an uncaught error, and logs it", async () => {
  const { workers, logged } = pool(await standIn("throw"));
  try {
    await workers.ready;
    const died = await logged("Worker died; a new one takes its place", 0);
    assert.equal(died.level, "error");
    assert.match(String(died.reason), /stand-in fault/);
    assert.equal(died.restartInMs, 100);
    const again = await logged("Worker listening again", 0);
    assert.deepEqual(again.addresses, ["http://stand-in:0"]);
  } finally {
    await workers.stop();
  }
});

Deno.test("startWorkerPool() replaces a worker that ends silently, found by its missing beat", async () => {
  const { workers, logged } = pool(await standIn("exit"));
  try {
    await workers.ready;
    const died = await logged("Worker died; a new one takes its place", 0);
    assert.match(String(died.reason), /^no beat for \d+ ms$/);
    await logged("Worker listening again", 0);
  } finally {
    await workers.stop();
  }
});

Deno.test("startWorkerPool() rejects ready when a worker cannot start, saying whether the port was taken", async () => {
  const { workers } = pool(await standIn("fail-start"));
  const error = await workers.ready.catch((e) => e);
  assert.ok(error instanceof WorkerStartError);
  assert.equal(error.portInUse, true);
  await workers.stop();
});

Deno.test("startWorkerPool() gives memory back once its workers' sockets jumped and settled: each worker collects in turn, then the trim", async () => {
  const journal = `${await Deno.makeTempDir({ prefix: "release_" })}/journal`;
  const write = (line: string) => Deno.writeTextFileSync(journal, `${line}\n`, { append: true });
  let trims = 0;
  const { workers, lines } = pool(await standIn("burst", journal), 2, () => (write("trim"), trims++, true));
  try {
    await workers.ready;
    // Two workers report 1,200 sockets each from their fourth beat: 2,400 opened, a burst over the threshold,
    // released after the count has held still for STILL_LOOKS looks of a second.
    await eventually(() => Promise.resolve(trims === 1 || undefined), 30_000, "a release after the burst");
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.equal(trims, 1, "a settled count releases once, not on every look");
    // One worker pauses at a time, and the trim comes after both collected.
    assert.deepEqual(
      Deno.readTextFileSync(journal).trim().split("\n"),
      ["collect 0", "collected 0", "collect 1", "collected 1", "trim"],
    );
    const given = lines.filter((l) => l.msg === "Memory given back after a burst of sockets");
    assert.equal(given.length, 1);
    assert.deepEqual(given[0].collectMs, [200, 200]);
    assert.equal(given[0].openSockets, 2_400);
  } finally {
    await workers.stop();
  }
});
