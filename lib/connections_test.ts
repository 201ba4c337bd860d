import assert from "node:assert/strict";
import { type ConnectionRecord, createConnectionRegistry, type RecordedSocket } from "./connections.ts";
import { createIsolateDirectory } from "./isolates.ts";
import { connectionKey } from "./keys.ts";
import { idleBeat } from "../tests/helpers/isolate_beat.ts";

/**
 * A real in-memory KV that counts the commits writing a connection record: a write is a commit (atomic or
 * not) whose keys include one under `["connections"]`.
 */
async function countingKv() {
  const kv = await Deno.openKv(":memory:");
  let writes = 0;
  const touchesRecord = (key: Deno.KvKey) => key[0] === connectionKey("x")[0];
  const atomic = kv.atomic.bind(kv);
  kv.atomic = () => {
    const op = atomic();
    let touched = false;
    const set = op.set.bind(op);
    const del = op.delete.bind(op);
    const commit = op.commit.bind(op);
    op.set = (key, value, options) => (touched ||= touchesRecord(key), set(key, value, options));
    op.delete = (key) => (touched ||= touchesRecord(key), del(key));
    op.commit = () => (touched && writes++, commit());
    return op;
  };
  const set = kv.set.bind(kv);
  const del = kv.delete.bind(kv);
  kv.set = (key, value, options) => (touchesRecord(key) && writes++, set(key, value, options));
  kv.delete = (key) => (touchesRecord(key) && writes++, del(key));
  return {
    kv,
    get writes() {
      return writes;
    },
  };
}

const START = Date.UTC(2026, 10, 1);

const RECORD_TTL_MS = 60_000;

/**
 * A registry for isolate `me` on a test clock, with the isolate directory it reads liveness from;
 * `registryOf` makes another isolate's on the same store and clock.
 */
async function setUp(me = "isolate-a") {
  const store = await countingKv();
  let clock = START;
  const isolates = createIsolateDirectory(store.kv, () => clock);
  const registryOf = (isolateId: string) =>
    createConnectionRegistry(store.kv, { isolateId, isolates, recordTtlMs: RECORD_TTL_MS, now: () => clock });
  const beat = (isolateId: string) => isolates.beat(idleBeat(isolateId, START));
  return { store, registry: registryOf(me), registryOf, beat, advance: (ms: number) => clock += ms };
}

let n = 0;
/** A socket's record as the service builds it, held by `isolateId`, opened `openedAt` ms after START. */
function record(isolateId: string, openedAt = n): ConnectionRecord {
  const id = `conn-${++n}`;
  const at = new Date(START + openedAt).toISOString();
  return {
    id,
    userId: `user-${n}`,
    userName: `User ${n}`,
    userRole: "client",
    clientIp: "203.0.113.9",
    userAgent: "test",
    connectedAt: at,
    lastActivity: at,
    messageCount: 0,
    isolateId,
  };
}

/** A socket as the registry reads it, whose record is `r`; `builds` counts the records built from it. */
function socketOf(r: ConnectionRecord, builds = { count: 0 }): RecordedSocket {
  return {
    id: r.id,
    identity: { userId: r.userId, name: r.userName, role: r.userRole },
    clientIp: r.clientIp,
    // Read once a build.
    get userAgent() {
      builds.count++;
      return r.userAgent;
    },
    connectedAt: Date.parse(r.connectedAt),
    lastActivity: Date.parse(r.lastActivity),
    messageCount: r.messageCount,
    recordBuiltAt: 0,
    recordBuiltCount: -1,
  };
}

Deno.test("connection registry: save() makes a record readable by get() and list(); an unknown id is null", async () => {
  const { store, registry } = await setUp();
  try {
    const r = record("isolate-a");
    await registry.save([socketOf(r)]);
    assert.deepEqual(await registry.get(r.id), r);
    assert.deepEqual(await registry.list(), [r]);
    assert.equal(await registry.get("no-such-connection"), null);
  } finally {
    store.kv.close();
  }
});

Deno.test("connection registry: list() holds every live isolate's records, oldest connection first; a dead isolate's are left out", async (t) => {
  const { store, registry, registryOf, beat, advance } = await setUp("isolate-a");
  try {
    await beat("isolate-b");
    await beat("isolate-dead");
    const onB = record("isolate-b", 2000);
    const onA = record("isolate-a", 1000);
    const onDead = record("isolate-dead", 0);
    await Promise.all([
      registryOf("isolate-b").save([socketOf(onB)]),
      registry.save([socketOf(onA)]),
      registryOf("isolate-dead").save([socketOf(onDead)]),
    ]);

    await t.step("all three isolates beat lately: every record, oldest first", async () => {
      assert.deepEqual((await registry.list()).map((r) => r.id), [onDead.id, onA.id, onB.id]);
    });

    await t.step("an isolate silent past ISOLATE_STALE_MS drops out of list() and get()", async () => {
      advance(4000);
      await beat("isolate-b");
      advance(2000); // isolate-dead's beat is now 6 s old, isolate-b's 2 s
      assert.deepEqual((await registry.list()).map((r) => r.id), [onA.id, onB.id]);
      assert.equal(await registry.get(onDead.id), null);
      assert.deepEqual(await registry.get(onB.id), onB);
    });

    await t.step("this isolate's own records count though it never beat", async () => {
      assert.deepEqual(await registry.get(onA.id), onA);
    });
  } finally {
    store.kv.close();
  }
});

Deno.test("connection registry: records saved together, or while a write waits, share one commit", async () => {
  const { store, registry } = await setUp();
  try {
    const records = Array.from({ length: 100 }, () => record("isolate-a"));
    const first = registry.save([socketOf(records[0])]);
    // Sockets opening one by one within the write delay, as in a burst of handshakes.
    const rest = records.slice(1).map((r) => registry.save([socketOf(r)]));
    await Promise.all([first, ...rest]);
    assert.equal(store.writes, 1);
    assert.equal((await registry.list()).length, 100);
  } finally {
    store.kv.close();
  }
});

Deno.test("connection registry: a socket that closes before its record is written costs no write, nor a build", async () => {
  const { store, registry } = await setUp();
  try {
    const r = record("isolate-a");
    const builds = { count: 0 };
    const saved = registry.save([socketOf(r, builds)]);
    const removed = registry.remove(r.id);
    await Promise.all([saved, removed]);
    assert.equal(store.writes, 0);
    assert.equal(builds.count, 0, "the record was built for nothing");
    assert.equal(await registry.get(r.id), null);
  } finally {
    store.kv.close();
  }
});

Deno.test("connection registry: remove() deletes a written record; the latest of several saves wins", async (t) => {
  const { store, registry } = await setUp();
  try {
    const r = record("isolate-a");
    await t.step("saved twice before the write: one commit, the second record", async () => {
      const builds = { count: 0 };
      const busier = { ...r, messageCount: 7 };
      await Promise.all([
        registry.save([socketOf(r, builds)]),
        registry.save([socketOf(busier, builds)]),
      ]);
      assert.equal(store.writes, 1);
      assert.equal(builds.count, 1);
      assert.deepEqual(await registry.get(r.id), busier);
    });

    await t.step("removed once written: a delete, and get() is null", async () => {
      await registry.remove(r.id);
      assert.equal(store.writes, 2);
      assert.equal(await registry.get(r.id), null);
      assert.equal(await store.kv.get(connectionKey(r.id)).then((e) => e.value), null);
    });

    await t.step("removed again: nothing was stored, so nothing is written", async () => {
      await registry.remove(r.id);
      assert.equal(store.writes, 2);
    });
  } finally {
    store.kv.close();
  }
});

Deno.test("connection registry: refresh() rewrites only the records that changed or are half-way to expiring", async (t) => {
  const { store, registry, advance } = await setUp();
  try {
    const quiet = socketOf(record("isolate-a"));
    const busy = socketOf(record("isolate-a"));
    await registry.save([quiet, busy]);
    assert.equal(store.writes, 1);

    await t.step("a heartbeat later, with nothing received: no write", async () => {
      advance(25_000);
      await registry.refresh([quiet, busy]);
      assert.equal(store.writes, 1);
    });

    await t.step("a frame received: that socket's record alone, with what it shows now", async () => {
      const activity = START + 25_000;
      Object.assign(busy, { messageCount: 1, lastActivity: activity });
      await registry.refresh([quiet, busy]);
      assert.equal(store.writes, 2);
      assert.equal((await registry.get(busy.id))?.messageCount, 1);
      assert.equal((await registry.get(busy.id))?.lastActivity, new Date(activity).toISOString());
      await registry.refresh([quiet, busy]);
      assert.equal(store.writes, 2, "written once for one change");
    });

    await t.step(
      "half its lifetime since it was written: the quiet one is rewritten, before it expires",
      async () => {
        advance(RECORD_TTL_MS / 2 - 25_000);
        await registry.refresh([quiet, busy]);
        assert.equal(store.writes, 3);
        assert.equal(await registry.get(quiet.id).then((r) => r?.id), quiet.id);
        assert.equal(quiet.recordBuiltAt, START + RECORD_TTL_MS / 2);
        assert.equal(busy.recordBuiltAt, START + 25_000, "the busy one was written later, so not yet");
      },
    );
  } finally {
    store.kv.close();
  }
});

Deno.test("connection registry: a record whose write failed is due again at the next refresh", async () => {
  const { store, registry, advance } = await setUp();
  const socket = socketOf(record("isolate-a"));
  await registry.save([socket]);
  store.kv.close();
  advance(25_000);
  Object.assign(socket, { messageCount: 1 });
  await assert.rejects(registry.refresh([socket]));
  assert.equal(socket.recordBuiltAt, 0, "not left marked as written half a lifetime on");
});
