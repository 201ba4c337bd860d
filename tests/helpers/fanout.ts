/**
 * Cross-isolate scenarios shared by the relay tests: sockets spread over several services (processes,
 * workers or in-process isolates), events accepted by any of them, and every socket checked for exactly-once,
 * in-order delivery; and the per-user limit held across them.
 */
import assert from "node:assert/strict";
import type { Identity } from "../../lib/auth.ts";
import { assertOnceInOrder } from "./delivery.ts";
import { eventually } from "./eventually.ts";
import { randomUser } from "./server.ts";
import { connectWelcomed, openSocket, type TestSocket } from "./socket.ts";
import { announcement, postEvent, projectChanged } from "./webhook.ts";
import { startServiceProcess } from "./process.ts";

/** Anything that serves the API: an in-process test server or a service process. */
export interface Target {
  url: string;
  wsUrl: string;
  socketToken(identity: Identity): Promise<string>;
}

export interface OpenedSocket {
  user: Identity;
  socket: TestSocket;
  connectionId: string;
}

/** Opens `socketsPerUser` sockets for each user, spread round-robin over the targets. */
export async function openSpread(
  targets: Target[],
  users: Identity[],
  socketsPerUser: number,
): Promise<OpenedSocket[]> {
  const opened: OpenedSocket[] = [];
  let i = 0;
  for (const user of users) {
    for (let s = 0; s < socketsPerUser; s++) {
      const target = targets[i++ % targets.length];
      const { socket, welcome } = await connectWelcomed(target.wsUrl, await target.socketToken(user));
      opened.push({ user, socket, connectionId: String(welcome.data.connectionId) });
    }
  }
  return opened;
}

/** Posts signed events, `concurrency` at a time, each to the next target in turn; all must be accepted. */
export async function postAll(targets: Target[], events: unknown[], concurrency = 4): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const i = next++;
      const res = await postEvent(targets[i % targets.length].url, events[i]);
      assert.equal(res.status, 202, `event ${i}: ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * Sends one announcement and `perUserEvents` per-user events (spread over the users and over the targets),
 * then a closing announcement once everything has arrived, and asserts that every socket got every
 * notification of its streams exactly once, in order. Streams must be empty before.
 */
export async function assertFanOutOnceInOrder(
  targets: Target[],
  sockets: OpenedSocket[],
  perUserEvents: number,
): Promise<void> {
  const users = [...new Map(sockets.map((s) => [s.user.userId, s.user])).values()];
  await postAll(targets, [announcement("Across isolates")], 1);
  const events = Array.from(
    { length: perUserEvents },
    (_, i) => projectChanged(users[i % users.length].userId, "in_progress", `Project ${i}`),
  );
  await postAll(targets, events);
  const expected = (userId: string) => events.filter((e) => e.data.userId === userId).length;
  for (const { user, socket } of sockets) {
    const stream = `user:${user.userId}`;
    await socket.collect((f) => f.stream === stream && f.seq === expected(user.userId), 1, 20_000);
    await socket.collect((f) => f.stream === "all" && f.seq === 1, 1, 20_000);
  }
  // A last frame on every socket: any late duplicate of the earlier ones would have had to arrive before it.
  await postAll(targets, [announcement("Closing")], 1);
  for (const { user, socket } of sockets) {
    await socket.collect((f) => f.stream === "all" && f.seq === 2, 1, 20_000);
    assertOnceInOrder(socket.frames, `user:${user.userId}`, expected(user.userId), user.userId);
    assertOnceInOrder(socket.frames, "all", 2, user.userId);
  }
}

async function connectWelcomedOrClosed(target: Target, user: Identity) {
  const socket = await openSocket(target.wsUrl, ["realtime.v1", await target.socketToken(user)]);
  const first = await Promise.race([socket.next("welcome").catch(() => undefined), socket.closed]);
  return { socket, welcome: first && "type" in first ? first : undefined };
}

/**
 * With `RATE_LIMIT_PER_USER=3`: three sockets of one user spread over the targets are let in, the fourth is
 * closed 1008 on whichever target it tries; once one closes, a place is free again.
 */
export async function assertUserLimitAcross(targets: Target[]): Promise<void> {
  const user = randomUser();
  const held = await openSpread(targets, [user], 3);
  try {
    for (const target of targets) {
      const extra = await openSocket(target.wsUrl, ["realtime.v1", await target.socketToken(user)]);
      assert.deepEqual(await extra.closed, { code: 1008, reason: "Connection limit exceeded" });
    }
    await held.shift()!.socket.close();
    // The server gives the place back after the close; that cannot be awaited from here, so try a few times.
    const last = targets[targets.length - 1];
    await eventually(
      async () => {
        const { socket, welcome } = await connectWelcomedOrClosed(last, user);
        if (welcome) held.push({ user, socket, connectionId: String(welcome.data.connectionId) });
        return welcome !== undefined;
      },
      10_000,
      "the closed socket's place to be given back",
    );
  } finally {
    for (const { socket } of held) await socket.close();
  }
}

/**
 * The two-process scenario every cross-process relay must pass: two service processes on one KV file with
 * `env` (the relay), each user with a socket on each; events reach both exactly once, in order, and the
 * per-user limit counts sockets on both.
 */
export async function assertTwoProcessRelay(t: Deno.TestContext, env: Record<string, string>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "relay_two_processes_" });
  const kvPath = `${dir}/realtime.kv`;
  const options = { kvPath, env: { RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_USER: "3", ...env } };
  const a = await startServiceProcess(options);
  const b = await startServiceProcess(options).catch(async (error) => {
    await a.kill();
    throw error;
  });
  const sockets: OpenedSocket[] = [];
  try {
    await t.step("each user has a socket on each process; events go to both", async () => {
      const users = Array.from({ length: 4 }, () => randomUser());
      sockets.push(...await openSpread([a, b], users, 2));
      await assertFanOutOnceInOrder([a, b], sockets, 60);
    });
    await t.step("RATE_LIMIT_PER_USER counts sockets on both processes", () => assertUserLimitAcross([a, b]));
  } catch (error) {
    console.error(`process A:\n${a.output()}\nprocess B:\n${b.output()}`);
    throw error;
  } finally {
    for (const { socket } of sockets) await socket.close();
    await a.stop();
    await b.stop();
    await Deno.remove(dir, { recursive: true });
  }
}
