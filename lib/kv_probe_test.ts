import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { createKvProbe } from "./kv_probe.ts";

const KEY = ["probe_test"];

/**
 * A round trip on a real KV (a nonce written and read back) whose writes can be slowed (on an injected clock),
 * held, or failed.
 */
async function probedKv() {
  const kv = await Deno.openKv(":memory:");
  let clock = 0;
  let takes = 0;
  let hold: Promise<void> | null = null;
  let fail: Error | null = null;
  let writes = 0;
  async function roundTrip() {
    writes++;
    if (fail) throw fail;
    if (hold) await hold;
    clock += takes;
    const nonce = crypto.randomUUID();
    await kv.set(KEY, nonce);
    if ((await kv.get(KEY, { consistency: "strong" })).value !== nonce) throw new Error("read another nonce");
  }
  return {
    kv,
    roundTrip,
    clock: () => clock,
    advance: (ms: number) => clock += ms,
    /** Each round trip from now on takes `ms` on the clock. */
    takes: (ms: number) => takes = ms,
    hold(): () => void {
      const { promise, resolve } = Promise.withResolvers<void>();
      hold = promise;
      return () => (hold = null, resolve());
    },
    fail: (error: Error | null) => fail = error,
    get writes() {
      return writes;
    },
  };
}

Deno.test("createKvProbe(): one slow round trip warns; failAfter slow ones in a row fail; a fast one heals", async () => {
  const kv = await probedKv();
  const probe = createKvProbe(kv.roundTrip, { timeoutMs: 1000, failAfter: 3, clock: kv.clock });
  try {
    assert.equal(probe.check().status, "warn", "before any round trip");
    await probe.probe();
    assert.deepEqual(probe.check(), { name: "kv", status: "pass", value: 0, threshold: 1000 });
    kv.takes(1001);
    await probe.probe();
    assert.deepEqual(probe.check(), {
      name: "kv",
      status: "warn",
      value: 1001,
      threshold: 1000,
      detail: "The last 1 round trip(s) took longer than 1000 ms",
    });
    await probe.probe();
    assert.equal(probe.check().status, "warn");
    await probe.probe();
    assert.equal(probe.check().status, "fail");
    assert.equal(probe.check().detail, "3 round trips in a row took longer than 1000 ms");
    kv.takes(5);
    await probe.probe();
    assert.equal(probe.check().status, "pass");
  } finally {
    await probe.stop();
    kv.kv.close();
  }
});

Deno.test("createKvProbe(): a round trip KV never answers warns, then fails; probes never pile up", async () => {
  const kv = await probedKv();
  const probe = createKvProbe(kv.roundTrip, { timeoutMs: 1000, failAfter: 3, clock: kv.clock });
  await probe.probe();
  const release = kv.hold();
  try {
    const stuck = probe.probe();
    assert.equal(probe.check().status, "pass");
    kv.advance(1500);
    assert.equal(probe.check().status, "warn");
    // Asking again while it waits starts nothing new.
    for (let i = 0; i < 5; i++) probe.probe();
    assert.equal(kv.writes, 2);
    kv.advance(1500);
    assert.deepEqual(probe.check(), {
      name: "kv",
      status: "fail",
      value: 3000,
      threshold: 1000,
      detail: "KV has not answered a round trip for 3000 ms",
    });
    release();
    await stuck;
    // It did answer in the end, 3 s late: one slow round trip.
    assert.equal(probe.check().status, "warn");
  } finally {
    release();
    await probe.stop();
    kv.kv.close();
  }
});

Deno.test("createKvProbe(): a real KV error fails at once, and a closed handle too", async () => {
  const kv = await probedKv();
  const probe = createKvProbe(kv.roundTrip, { clock: kv.clock });
  try {
    await probe.probe();
    kv.fail(new Error("disk I/O error"));
    await probe.probe();
    assert.equal(probe.check().status, "fail");
    assert.equal(probe.check().detail, "disk I/O error");
    kv.fail(null);
    await probe.probe();
    assert.equal(probe.check().status, "pass");
    kv.kv.close();
    await probe.probe();
    assert.equal(probe.check().status, "fail");
    assert.ok(probe.check().detail);
  } finally {
    await probe.stop();
  }
});

Deno.test("createKvProbe().start() probes once at once, then once every interval until stop(), never after", async () => {
  // The interval is a fake timer: the test says when it fires.
  const timers = FakeTimers.install({ toFake: ["setInterval", "clearInterval"] });
  const kv = await probedKv();
  const probe = createKvProbe(kv.roundTrip, { intervalMs: 10 });
  try {
    await probe.start();
    assert.equal(kv.writes, 1);
    assert.equal(probe.check().status, "pass");
    for (const expected of [2, 3]) {
      const release = kv.hold();
      await timers.tickAsync(10);
      assert.equal(kv.writes, expected, "a probe every interval");
      release();
      await probe.probe(); // joins the round trip in flight: no write of its own
    }
    await probe.stop();
    await timers.tickAsync(100);
    assert.equal(kv.writes, 3, "probes went on after stop()");
  } finally {
    await probe.stop();
    timers.uninstall();
    kv.kv.close();
  }
});
