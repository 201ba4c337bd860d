import { setImmediate } from "node:timers";
import assert from "node:assert/strict";
import { createHub, type HubConnection } from "./hub.ts";
import { KvUnavailableError } from "./kv.ts";
import { createLogger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import type { StoredNotification } from "./notifications.ts";
import type { Stream } from "./keys.ts";

const notification = (stream: Stream, seq: number): StoredNotification => ({
  id: `${stream}-${seq}`,
  stream,
  seq,
  type: "system_announcement",
  title: "t",
  message: "m",
  data: {},
  createdAt: new Date(0).toISOString(),
});

function recorder(id: string, userId: string, role: "admin" | "client" = "client") {
  const got: StoredNotification[] = [];
  const frames = new Set<string>();
  const conn: HubConnection = {
    id,
    userId,
    role,
    wantsMetrics: false,
    deliver(n, frame) {
      got.push(n);
      frames.add(frame);
      return true;
    },
    sendControl: () => true,
    close() {},
  };
  return { conn, got, frames };
}

Deno.test("hub.deliver() hands each notification once, in order, filling gaps from the store", async () => {
  const store = new Map<number, StoredNotification>();
  for (let seq = 1; seq <= 6; seq++) store.set(seq, notification("all", seq));
  const reads: Array<[number, number]> = [];
  const hub = createHub({
    metrics: createMetrics(),
    log: createLogger("error"),
    readRange: (_stream, after, upTo) => {
      reads.push([after, upTo]);
      return Promise.resolve([...store.values()].filter((n) => n.seq > after && n.seq <= upTo));
    },
  });
  const a = recorder("a", "u1");
  const b = recorder("b", "u2", "admin");
  hub.add(a.conn);
  hub.add(b.conn);
  hub.notePositions({ all: 0 });
  // A relay that duplicates 1, drops 2 and 3, and delivers 5 before 4.
  for (const seq of [1, 1, 4, 6, 5]) await hub.deliver(store.get(seq)!);
  for (const r of [a, b]) assert.deepEqual(r.got.map((n) => n.seq), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(reads, [[1, 3], [4, 5]]);
  // One serialisation per notification, shared by every recipient.
  assert.equal(a.frames.size, 6);
  assert.deepEqual([...a.frames], [...b.frames]);
});

Deno.test("hub routes streams: user to that user, role:admin to admins, all to everyone", async () => {
  const hub = createHub({
    metrics: createMetrics(),
    log: createLogger("error"),
    readRange: () => Promise.resolve([]),
  });
  const client = recorder("c", "u1");
  const other = recorder("o", "u2");
  const admin = recorder("a", "u3", "admin");
  for (const r of [client, other, admin]) hub.add(r.conn);
  hub.notePositions({ "user:u1": 0, "role:admin": 0, all: 0 });
  await hub.deliver(notification("user:u1", 1));
  await hub.deliver(notification("role:admin", 1));
  await hub.deliver(notification("all", 1));
  assert.deepEqual(client.got.map((n) => n.stream), ["user:u1", "all"]);
  assert.deepEqual(other.got.map((n) => n.stream), ["all"]);
  assert.deepEqual(admin.got.map((n) => n.stream), ["role:admin", "all"]);
  assert.deepEqual(hub.countsByRole(), { admin: 1, client: 2 });
  hub.remove(admin.conn);
  assert.equal(hub.readerCount("role:admin"), 0);
});

Deno.test("hub hands a user's stream to each of their sockets, until the last one is removed", async () => {
  const hub = createHub({
    metrics: createMetrics(),
    log: createLogger("error"),
    readRange: () => Promise.resolve([]),
  });
  const phone = recorder("phone", "u1");
  const laptop = recorder("laptop", "u1");
  hub.add(phone.conn);
  hub.add(phone.conn); // a second add of the same socket changes nothing
  hub.add(laptop.conn);
  assert.equal(hub.readerCount("user:u1"), 2);
  hub.notePositions({ "user:u1": 0 });
  await hub.deliver(notification("user:u1", 1));
  hub.remove(phone.conn);
  assert.equal(hub.readerCount("user:u1"), 1);
  await hub.deliver(notification("user:u1", 2));
  assert.deepEqual(phone.got.map((n) => n.seq), [1]);
  assert.deepEqual(laptop.got.map((n) => n.seq), [1, 2]);
  hub.remove(laptop.conn);
  hub.remove(laptop.conn);
  assert.equal(hub.readerCount("user:u1"), 0);
  assert.equal(hub.size, 0);
  // With no reader left the stream's cursor went too: a later reader starts from its own welcome.
  const tablet = recorder("tablet", "u1");
  hub.add(tablet.conn);
  hub.notePositions({ "user:u1": 7 });
  await hub.deliver(notification("user:u1", 3));
  await hub.deliver(notification("user:u1", 8));
  assert.deepEqual(tablet.got.map((n) => n.seq), [8]);
});

Deno.test("hub fan-out to a large audience yields to the event loop between slices", async () => {
  const hub = createHub({
    metrics: createMetrics(),
    log: createLogger("error"),
    readRange: () => Promise.resolve([]),
  });
  const recorders = Array.from({ length: 2000 }, (_, i) => recorder(`c${i}`, `u${i}`));
  for (const r of recorders) hub.add(r.conn);
  hub.notePositions({ all: 0 });
  // A macrotask queued before the fan-out runs at the event loop's next turn: it must find the fan-out
  // started and not finished, so that the first sockets' writes could leave while the rest waited.
  let servedAtTurn = -1;
  setImmediate(() => (servedAtTurn = recorders.filter((r) => r.got.length > 0).length));
  await hub.deliver(notification("all", 1));
  assert.ok(servedAtTurn > 0 && servedAtTurn < recorders.length, `served at the first turn: ${servedAtTurn}`);
  assert.ok(recorders.every((r) => r.got.length === 1));
});

Deno.test("hub reports a failed delivery through its logger: the store's failure a warning, anything else an error", async () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger("debug", {}, (line) => lines.push(JSON.parse(line)));
  let failure: Error = new KvUnavailableError("KV is unavailable");
  const hub = createHub({ metrics: createMetrics(), log, readRange: () => Promise.reject(failure) });
  const reader = recorder("c", "u1");
  hub.add(reader.conn);
  hub.notePositions({ all: 0 });
  // seq 3 after 0: the gap (1–2) is read from the store, which fails.
  await hub.deliver(notification("all", 3));
  failure = new TypeError("a bug");
  await hub.deliver(notification("all", 5));
  assert.deepEqual(lines.map(({ level, msg, stream, seq }) => ({ level, msg, stream, seq })), [
    { level: "warn", msg: "Delivery failed: store unavailable", stream: "all", seq: 3 },
    { level: "error", msg: "Delivery failed", stream: "all", seq: 5 },
  ]);
  assert.equal(reader.got.length, 0, "nothing is handed out past a gap that could not be filled");
  // The queue goes on after a failure, from where it stood.
  await hub.deliver(notification("all", 1));
  assert.deepEqual(reader.got.map((n) => n.seq), [1]);
});
