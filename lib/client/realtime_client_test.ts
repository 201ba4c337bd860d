import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { backoffDelay } from "./connection.ts";
import { type ClientOptions, createRealtimeClient, type NotificationFrame } from "./realtime_client.ts";
import { CLOSE, type WebSocketMetrics } from "../protocol.ts";

/** A WebSocket stand-in the test plays the server of. */
class FakeSocket {
  static made: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  closedWith: { code?: number; reason?: string } | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string, readonly protocols: string[]) {
    FakeSocket.made.push(this);
  }
  /** Answers pings as a live server would. */
  autoPong = true;
  send(text: string) {
    const frame = JSON.parse(text);
    this.sent.push(frame);
    if (frame.type === "ping" && this.autoPong) {
      queueMicrotask(() => this.frame({ type: "pong", data: { replyTo: frame.id } }));
    }
  }
  close(code?: number, reason?: string) {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }
  // The server's side:
  welcome(positions: Record<string, number>, expiresAt: number) {
    this.readyState = 1;
    this.onopen?.();
    this.frame({ type: "welcome", data: { expiresAt: new Date(expiresAt).toISOString(), positions } });
  }
  frame(frame: Record<string, unknown>) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code: number, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  sentOfType(type: string) {
    return this.sent.filter((f) => f.type === type);
  }
}

function notification(stream: string, seq: number, type = "project_update"): NotificationFrame {
  return {
    type: type as NotificationFrame["type"],
    data: {},
    timestamp: new Date(1_700_000_000_000 + seq * 1000).toISOString(),
    id: `${stream}-${seq}`,
    stream,
    seq,
    title: `Title ${seq}`,
    message: `Message ${seq}`,
  };
}

function setup(options: Partial<ClientOptions> = {}) {
  FakeSocket.made = [];
  const clock = FakeTimers.createClock(1_700_000_000_000);
  let online = true;
  const networkListeners = new Set<(online: boolean) => void>();
  const tokenRequests: RequestInit[] = [];
  const tokenTimes: number[] = [];
  let tokenCounter = 0;
  let tokenFails = false;
  const fetch = ((_url: string, init: RequestInit = {}) => {
    tokenRequests.push(init);
    tokenTimes.push(clock.now);
    if (tokenFails) return Promise.reject(new TypeError("Failed to fetch"));
    const grant = { token: `t${++tokenCounter}`, connectionUrl: "ws://rt.test/ws" };
    return Promise.resolve(new Response(JSON.stringify(grant)));
  }) as typeof globalThis.fetch;
  const client = createRealtimeClient({
    tokenUrl: "/api/realtime-token",
    backoffBaseMs: 1000,
    backoffMaxMs: 8000,
    pingIntervalMs: 20_000,
    pongTimeoutMs: 5_000,
    ...options,
    env: {
      now: () => clock.now,
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
      clearTimeout: (h) => clock.clearTimeout(h as number),
      random: () => 0.999,
      WebSocket: FakeSocket as unknown as typeof WebSocket,
      fetch,
      network: {
        isOnline: () => online,
        subscribe(listener) {
          networkListeners.add(listener);
          return () => networkListeners.delete(listener);
        },
      },
    },
  });
  return {
    clock,
    client,
    tokenRequests,
    tokenTimes,
    setTokenFails: (fails: boolean) => (tokenFails = fails),
    setOnline(value: boolean) {
      online = value;
      for (const l of networkListeners) l(value);
    },
    /** The newest socket, after letting the token fetch settle. */
    async socket() {
      await clock.tickAsync(0);
      return FakeSocket.made.at(-1)!;
    },
  };
}

const HOUR = 3600_000;

Deno.test("backoffDelay() is full jitter: uniform below min(cap, base·2ⁿ)", () => {
  assert.equal(backoffDelay(0, 1000, 8000, () => 0.5), 500);
  assert.equal(backoffDelay(3, 1000, 8000, () => 0.999), 7992);
  assert.equal(backoffDelay(10, 1000, 8000, () => 0.999), 7992);
  assert.equal(backoffDelay(10, 1000, 8000, () => 0), 0);
});

Deno.test("client: token, subprotocols, status and notifications as signals", async (t) => {
  const { client, clock, tokenRequests, socket } = setup();
  const ws = await socket();

  await t.step("fetches a token with POST and credentials, connects with realtime.v1 + token", () => {
    assert.equal(tokenRequests[0].method, "POST");
    assert.equal(tokenRequests[0].credentials, "include");
    assert.equal(ws.url, "ws://rt.test/ws");
    assert.deepEqual(ws.protocols, ["realtime.v1", "t1"]);
    assert.equal(client.status.value, "connecting");
  });

  await t.step("the welcome makes it connected and sets the positions", () => {
    ws.welcome({ "user:u1": 4, all: 0 }, clock.now + HOUR);
    assert.equal(client.status.value, "connected");
    assert.deepEqual(client.positions(), { "user:u1": 4, all: 0 });
    assert.equal(ws.sentOfType("resume").length, 0, "nothing to resume on the first connection");
  });

  await t.step("a notification is listed, counted and reported once; a duplicate is dropped", () => {
    const seen: NotificationFrame[] = [];
    client.onNotification((f) => seen.push(f));
    ws.frame({ type: "system_announcement", data: { title: "Connected" }, timestamp: "x" });
    ws.frame({ ...notification("user:u1", 5) });
    ws.frame({ ...notification("user:u1", 5) });
    assert.equal(seen.length, 1);
    assert.equal(client.unreadCount.value, 1);
    assert.deepEqual(client.notifications.value.map((n) => n.id), ["user:u1-5"]);
    assert.deepEqual(client.positions(), { "user:u1": 5, all: 0 });
  });

  await t.step("a seq gap asks for a resume from the last contiguous position, once", () => {
    ws.frame({ ...notification("user:u1", 8) });
    ws.frame({ ...notification("user:u1", 9) });
    assert.deepEqual(ws.sentOfType("resume").map((f) => f.data), [{ positions: { "user:u1": 5, all: 0 } }]);
    ws.frame({ ...notification("user:u1", 6) });
    ws.frame({ ...notification("user:u1", 7) });
    ws.frame({ ...notification("user:u1", 8) }); // replayed again: a duplicate
    ws.frame({ type: "resumed", data: { replayed: 2, positions: { "user:u1": 9, all: 0 } } });
    assert.deepEqual(client.positions(), { "user:u1": 9, all: 0 });
    assert.equal(client.unreadCount.value, 5);
    assert.deepEqual(client.notifications.value.map((n) => n.seq), [9, 8, 7, 6, 5]);
  });

  await t.step("a close 1000 ends it: offline, no reconnect", async () => {
    ws.drop(1000, "Bye");
    assert.equal(client.status.value, "offline");
    await clock.tickAsync(60_000);
    assert.equal(FakeSocket.made.length, 1);
  });
  client.dispose();
});

Deno.test("client: reconnects with back-off and resumes; 4500 stops it", async (t) => {
  const { client, clock, socket, setTokenFails, tokenTimes } = setup();
  let ws = await socket();
  ws.welcome({ "user:u1": 2, all: 1 }, clock.now + HOUR);

  await t.step("a server shutdown (1001) shows Connecting… and retries within the first step", async () => {
    ws.drop(1001, "Server shutting down");
    assert.equal(client.status.value, "connecting");
    await clock.tickAsync(998);
    assert.equal(FakeSocket.made.length, 1);
    await clock.tickAsync(2);
    assert.equal(FakeSocket.made.length, 2);
  });

  await t.step("failed attempts show Offline and wait twice as long each time, up to the cap", async () => {
    ws = FakeSocket.made.at(-1)!;
    ws.drop(1006); // closed before any welcome: a failed attempt
    assert.equal(client.status.value, "offline");
    setTokenFails(true);
    const start = clock.now;
    const before = tokenTimes.length;
    await clock.tickAsync(1998 + 3996 + 7992 + 7992);
    setTokenFails(false);
    await clock.tickAsync(7992);
    const gaps = tokenTimes.slice(before).map((time, i, all) => time - (i ? all[i - 1] : start));
    assert.deepEqual(gaps, [1998, 3996, 7992, 7992, 7992]);
    assert.equal(FakeSocket.made.length, 3);
    assert.equal(client.status.value, "offline", "still Offline until the welcome");
  });

  await t.step("after the reconnect it resumes from its positions", () => {
    ws = FakeSocket.made.at(-1)!;
    ws.welcome({ "user:u1": 5, all: 1 }, clock.now + HOUR);
    assert.equal(client.status.value, "connected");
    assert.deepEqual(ws.sentOfType("resume").map((f) => f.data), [{ positions: { "user:u1": 2, all: 1 } }]);
    for (const seq of [3, 4, 5]) ws.frame({ ...notification("user:u1", seq) });
    ws.frame({ type: "resumed", data: { replayed: 3, positions: { "user:u1": 5, all: 1 } } });
    assert.equal(client.unreadCount.value, 3);
  });

  await t.step("4500 (disconnected by an administrator) is final", async () => {
    ws.drop(4500, "Disconnected by administrator");
    await clock.tickAsync(120_000);
    assert.equal(FakeSocket.made.length, 3);
    assert.equal(client.status.value, "offline");
    assert.match(client.lastError.value ?? "", /4500/);
  });
  client.dispose();
});

Deno.test("client: token refresh over the socket, app-level ping, type filters", async (t) => {
  const { client, clock, socket } = setup({ types: ["project_update"] });
  let ws = await socket();
  ws.welcome({ all: 0 }, clock.now + 300_000);

  await t.step("subscribes to its types right after the welcome", () => {
    assert.deepEqual(ws.sentOfType("subscribe").map((f) => f.data), [{ types: ["project_update"] }]);
  });

  await t.step("at three quarters of the token's life it sends auth with a fresh token", async () => {
    await clock.tickAsync(225_000 - 1);
    assert.equal(ws.sentOfType("auth").length, 0);
    await clock.tickAsync(1);
    assert.deepEqual(ws.sentOfType("auth").map((f) => f.data), [{ token: "t2" }]);
    assert.equal(client.token(), "t2");
    ws.frame({ type: "auth_ok", data: { expiresAt: new Date(clock.now + 300_000).toISOString() } });
  });

  await t.step("a ping after 20 s of silence; no answer within 5 s closes and reconnects", async () => {
    const pings = ws.sentOfType("ping").length;
    assert.ok(pings >= 10, "answered pings kept the link up until now");
    ws.autoPong = false;
    await clock.tickAsync(20_000);
    assert.equal(ws.sentOfType("ping").length, pings + 1);
    await clock.tickAsync(5_000);
    assert.equal(ws.closedWith?.code, 4000);
    assert.equal(client.status.value, "connecting");
    await clock.tickAsync(1000);
    ws = FakeSocket.made.at(-1)!;
    assert.equal(FakeSocket.made.length, 2);
    ws.welcome({ all: 0 }, clock.now + 300_000);
    assert.deepEqual(ws.sentOfType("subscribe").map((f) => f.data), [{ types: ["project_update"] }]);
  });

  await t.step("unsubscribe sends the frame", () => {
    client.unsubscribe(["project_update"]);
    assert.deepEqual(ws.sentOfType("unsubscribe").map((f) => f.data), [{ types: ["project_update"] }]);
  });
  client.dispose();
});

Deno.test("client: pauses while the network is offline and comes back at once when online", async () => {
  const { client, clock, socket, setOnline } = setup();
  const ws = await socket();
  ws.welcome({ all: 0 }, clock.now + HOUR);
  setOnline(false);
  assert.equal(client.status.value, "offline");
  assert.equal(ws.closedWith?.code, 1000);
  await clock.tickAsync(120_000);
  assert.equal(FakeSocket.made.length, 1, "no attempts while offline");
  setOnline(true);
  await clock.tickAsync(0);
  assert.equal(FakeSocket.made.length, 2, "online: a new attempt without waiting");
  FakeSocket.made[1].welcome({ all: 0 }, clock.now + HOUR);
  assert.equal(client.status.value, "connected");
  assert.equal(FakeSocket.made[1].sentOfType("resume").length, 1);
  client.dispose();
});

Deno.test("client: every close code the server sends is followed by its reconnect flag", async (t) => {
  for (const [cause, close] of Object.entries(CLOSE)) {
    await t.step(
      `${close.code} ${close.reason} (${cause}): ${close.reconnect ? "reconnects" : "stays away"}`,
      async () => {
        const { client, clock, socket } = setup();
        const ws = await socket();
        ws.welcome({ all: 0 }, clock.now + HOUR);
        ws.drop(close.code, close.reason);
        await clock.tickAsync(60_000);
        assert.equal(FakeSocket.made.length, close.reconnect ? 2 : 1);
        client.dispose();
      },
    );
  }
});

Deno.test("client: control frames reach onControl listeners; types may include metrics", async (t) => {
  const { client, clock, socket } = setup({ types: ["metrics"] });
  let ws = await socket();
  const figures: WebSocketMetrics[] = [];
  const errors: string[] = [];
  const stopFigures = client.onControl("metrics", (frame) => figures.push(frame.data));
  client.onControl("error", (frame) => errors.push(frame.data.code));
  const metrics: WebSocketMetrics = {
    totalConnections: 3,
    activeConnections: 2,
    connectionsByRole: { admin: 1, client: 1 },
    messagesPerSecond: 0.5,
    averageLatency: 1.25,
    errorRate: 0,
    timestamp: new Date(clock.now).toISOString(),
  };

  await t.step("the metrics subscription goes out after every welcome", async () => {
    ws.welcome({ all: 0 }, clock.now + HOUR);
    assert.deepEqual(ws.sentOfType("subscribe").map((f) => f.data), [{ types: ["metrics"] }]);
    ws.drop(4008, "Slow consumer");
    await clock.tickAsync(1000);
    ws = FakeSocket.made.at(-1)!;
    ws.welcome({ all: 0 }, clock.now + HOUR);
    assert.deepEqual(ws.sentOfType("subscribe").map((f) => f.data), [{ types: ["metrics"] }]);
  });

  await t.step("metrics and error frames go to their listeners, not to the notifications", () => {
    ws.frame({ type: "metrics", data: metrics, timestamp: metrics.timestamp });
    ws.frame({ type: "error", data: { code: "forbidden", message: "No" }, timestamp: metrics.timestamp });
    assert.deepEqual(figures, [metrics]);
    assert.deepEqual(errors, ["forbidden"]);
    assert.equal(client.lastError.value, "No");
    assert.equal(client.notifications.value.length, 0);
  });

  await t.step("an unsubscribed listener hears nothing more", () => {
    stopFigures();
    ws.frame({ type: "metrics", data: metrics, timestamp: metrics.timestamp });
    assert.equal(figures.length, 1);
  });
  client.dispose();
});
