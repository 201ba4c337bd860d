import assert from "node:assert/strict";
import { parsePrometheus } from "./helpers/prometheus.ts";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { connectWelcomed, type TestSocket } from "./helpers/socket.ts";
import { postEvent, projectChanged } from "./helpers/webhook.ts";

/** Every frame the sockets received, counted by type. */
function receivedByType(sockets: TestSocket[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const socket of sockets) for (const f of socket.frames) counts[f.type] = (counts[f.type] ?? 0) + 1;
  return counts;
}

/** `realtime_frames_total{direction="out"}` by type, as `/metrics` serves it. */
async function sentByType(url: string): Promise<Record<string, number>> {
  const res = await fetch(`${url}/metrics`);
  const families = parsePrometheus(await res.text());
  const counts: Record<string, number> = {};
  for (const s of families.get("realtime_frames_total")?.samples ?? []) {
    if (s.labels.direction === "out" && s.value > 0) counts[s.labels.type] = s.value;
  }
  return counts;
}

Deno.test("[metrics] realtime_frames_total{direction=out} counts every frame the sockets were sent, by type", async () => {
  const server = await startTestServer();
  const client = randomUser();
  const admin = randomUser("admin");
  const sockets: TestSocket[] = [];
  try {
    // Stored before the client connects: its resume replays it.
    assert.equal((await postEvent(server.url, projectChanged(client.userId, "review"))).status, 202);
    const c = (await connectWelcomed(server.wsUrl, await server.socketToken(client))).socket;
    const a = (await connectWelcomed(server.wsUrl, await server.socketToken(admin))).socket;
    sockets.push(c, a);

    // Control frames of every kind: pong, error, sent, auth_ok, resumed, metrics; and notifications, live
    // (fanned out by the hub) and replayed (by the session).
    for (let i = 0; i < 3; i++) c.send({ type: "ping", id: `p${i}` });
    await c.collect("pong", 3);
    c.send({ type: "subscribe", data: { types: ["nope"] } });
    await c.next("error");
    c.send({ type: "user_message", id: "m1", data: { toUserId: "admins", subject: "Hi", content: "Hello" } });
    await c.next("sent");
    await a.next("user_message");
    c.send({ type: "auth", id: "a1", data: { token: await server.socketToken(client) } });
    await c.next("auth_ok");
    assert.equal((await postEvent(server.url, projectChanged(client.userId))).status, 202);
    await c.next("project_update");
    await a.next("admin_alert");
    c.send({ type: "resume", data: { positions: { [`user:${client.userId}`]: 0, all: 0 } } });
    assert.equal((await c.next("resumed")).data.replayed, 1);
    a.send({ type: "subscribe", data: { types: ["metrics"] } });
    await a.collect("metrics", 2);
    // After the unsubscribe, a pong answered behind it marks the end: no frame is in flight.
    a.send({ type: "unsubscribe", data: { types: ["metrics"] } });
    a.send({ type: "ping", id: "last" });
    await a.next((f) => f.type === "pong" && f.data.replyTo === "last");

    const received = receivedByType(sockets);
    for (
      const type of [
        "welcome",
        "system_announcement",
        "pong",
        "error",
        "sent",
        "auth_ok",
        "resumed",
        "metrics",
        "user_message",
        "project_update",
        "admin_alert",
      ]
    ) {
      assert.ok(received[type] > 0, `the test saw a "${type}" frame`);
    }
    assert.equal(received.project_update, 2, "one live, one replayed");
    assert.deepEqual(await sentByType(server.url), received);
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    await server.close();
  }
});
