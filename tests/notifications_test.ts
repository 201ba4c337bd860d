import assert from "node:assert/strict";
import { deliveryKey } from "../lib/keys.ts";
import { eventually } from "./helpers/eventually.ts";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { connectWelcomed } from "./helpers/socket.ts";
import { announcement, postEvent, projectChanged } from "./helpers/webhook.ts";

async function api(url: string, token: string, init: RequestInit = {}) {
  return await fetch(url, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
}

Deno.test("[resume] 5 events sent while a user is offline come back in order, then live ones once", async () => {
  const server = await startTestServer();
  try {
    const user = randomUser();
    const first = await connectWelcomed(server.wsUrl, await server.socketToken(user));
    assert.equal((await postEvent(server.url, projectChanged(user.userId, "in_progress"))).status, 202);
    const seen = await first.socket.next("project_update");
    const positions = { [`user:${user.userId}`]: seen.seq!, all: 0 };
    await first.socket.close();

    const statuses = ["review", "revision", "approved", "deployed", "completed"];
    for (const status of statuses) {
      assert.equal((await postEvent(server.url, projectChanged(user.userId, status))).status, 202);
    }

    const again = await connectWelcomed(server.wsUrl, await server.socketToken(user));
    assert.deepEqual(again.welcome.data.positions, { [`user:${user.userId}`]: 6, all: 0 });
    again.socket.send({ type: "resume", data: { positions }, id: "r" });
    const resumed = await again.socket.next("resumed");
    assert.equal(resumed.data.replyTo, "r");
    assert.equal(resumed.data.replayed, 5);
    assert.deepEqual(resumed.data.positions, { [`user:${user.userId}`]: 6, all: 0 });
    const replayed = again.socket.frames.filter((f) => f.type === "project_update");
    assert.deepEqual(replayed.map((f) => f.data.newStatus), statuses);
    assert.deepEqual(replayed.map((f) => f.seq), [2, 3, 4, 5, 6]);

    assert.equal((await postEvent(server.url, projectChanged(user.userId, "archived"))).status, 202);
    const live = await again.socket.next((f) => f.type === "project_update" && f.seq === 7);
    assert.equal(live.data.newStatus, "archived");
    again.socket.send({ type: "ping", id: "end" });
    await again.socket.next("pong");
    assert.equal(again.socket.frames.filter((f) => f.type === "project_update").length, 6);
    await again.socket.close();
  } finally {
    await server.close();
  }
});

Deno.test("[resume] a resume racing with live frames yields each notification once", async () => {
  const server = await startTestServer();
  try {
    const user = randomUser();
    const stream = `user:${user.userId}`;
    const step = (i: number) => `step_${"abcdefghijklmnopqrstuvwxyz"[i % 26]}`;
    // 10 stored while the user was away, 30 more published while the socket resumes.
    for (let i = 0; i < 10; i++) await postEvent(server.url, projectChanged(user.userId, step(i)));
    const { socket, welcome } = await connectWelcomed(server.wsUrl, await server.socketToken(user));
    assert.equal((welcome.data.positions as Record<string, number>)[stream], 10);
    const sending = (async () => {
      for (let i = 10; i < 40; i++) await postEvent(server.url, projectChanged(user.userId, step(i)));
    })();
    // The resume starts once live frames are flowing, so that the replay races with them.
    await socket.next((f) => f.type === "project_update" && f.seq === 11);
    socket.send({ type: "resume", data: { positions: { [stream]: 0, all: 0 } } });
    await sending;
    await socket.collect("project_update", 40);
    socket.send({ type: "ping", id: "end" });
    await socket.next("pong");
    const seqs = socket.frames.filter((f) => f.type === "project_update").map((f) => f.seq!);
    assert.deepEqual([...seqs].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1));
    // The replay itself is in order, and so are the live frames.
    const replayed = seqs.filter((s) => s <= 10);
    assert.deepEqual(replayed, [...replayed].sort((a, b) => a - b));
    const live = seqs.filter((s) => s > 10);
    assert.deepEqual(live, [...live].sort((a, b) => a - b));
    await socket.close();
  } finally {
    await server.close();
  }
});

Deno.test("[delivery] 200 events across 20 users arrive each exactly once", async () => {
  const server = await startTestServer({ env: { RATE_LIMIT_PER_IP: "0" } });
  try {
    const users = Array.from({ length: 20 }, () => randomUser());
    const sockets = await Promise.all(
      users.map(async (u) => (await connectWelcomed(server.wsUrl, await server.socketToken(u))).socket),
    );
    const posts = [];
    for (let i = 0; i < 200; i++) {
      posts.push(postEvent(server.url, projectChanged(users[i % 20].userId, "in_progress", `Project ${i}`)));
    }
    for (const res of await Promise.all(posts)) assert.equal(res.status, 202);
    for (const [i, socket] of sockets.entries()) {
      const frames = await socket.collect("project_update", 10);
      socket.send({ type: "ping", id: "end" });
      await socket.next("pong");
      const mine = socket.frames.filter((f) => f.type === "project_update");
      assert.equal(mine.length, 10, `user ${i}`);
      assert.deepEqual(mine.map((f) => f.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.equal(new Set(frames.map((f) => f.data.projectName)).size, 10);
    }
    await Promise.all(sockets.map((s) => s.close()));
  } finally {
    await server.close();
  }
});

Deno.test("[api] notifications: pages, unread, read state per user, 404 for others", async (t) => {
  const server = await startTestServer();
  try {
    const alice = randomUser();
    const bob = randomUser();
    const aliceToken = await server.sessionToken(alice);
    const bobToken = await server.sessionToken(bob);
    for (let i = 0; i < 3; i++) {
      await postEvent(server.url, projectChanged(alice.userId, "in_progress", `Site ${i}`));
    }
    await postEvent(server.url, announcement("For everyone"));

    await t.step("401 without a token", async () => {
      const res = await fetch(`${server.url}/api/notifications`);
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error.code, "unauthorized");
    });

    await t.step("newest first, with a cursor, and the unread count", async () => {
      const page1 = await (await api(`${server.url}/api/notifications?limit=2`, aliceToken)).json();
      assert.equal(page1.items.length, 2);
      assert.equal(page1.unreadCount, 4);
      assert.ok(page1.nextCursor);
      const page2 =
        await (await api(`${server.url}/api/notifications?limit=2&cursor=${page1.nextCursor}`, aliceToken))
          .json();
      assert.equal(page2.items.length, 2);
      assert.equal(page2.nextCursor, null);
      const ids = [...page1.items, ...page2.items].map((n: { id: string }) => n.id);
      assert.equal(new Set(ids).size, 4);
      const times = [...page1.items, ...page2.items].map((n: { createdAt: string }) => n.createdAt);
      assert.deepEqual(times, [...times].sort().reverse());
      assert.equal(page1.items[0].readAt, null);
    });

    await t.step("a socket token also works; limit over 100 is 100; bad limit or cursor is 422", async () => {
      const socketToken = await server.socketToken(alice);
      assert.equal((await api(`${server.url}/api/notifications?limit=500`, socketToken)).status, 200);
      const bad = await api(`${server.url}/api/notifications?limit=abc`, aliceToken);
      assert.equal(bad.status, 422);
      assert.ok((await bad.json()).error.issues.length);
      const badCursor = await api(`${server.url}/api/notifications?cursor=%%%`, aliceToken);
      assert.equal(badCursor.status, 422);
      await badCursor.body?.cancel();
    });

    await t.step(
      "mark one read; another user's id is 404; read state of a broadcast is per user",
      async () => {
        const list = await (await api(`${server.url}/api/notifications`, aliceToken)).json();
        const broadcast = list.items.find((n: { stream: string }) => n.stream === "all");
        const own = list.items.find((n: { stream: string }) => n.stream !== "all");
        assert.equal(
          (await api(`${server.url}/api/notifications/${broadcast.id}/read`, aliceToken, { method: "POST" }))
            .status,
          204,
        );
        const other = await api(`${server.url}/api/notifications/${own.id}/read`, bobToken, {
          method: "POST",
        });
        assert.equal(other.status, 404);
        await other.body?.cancel();
        const missing = await api(`${server.url}/api/notifications/nope/read`, aliceToken, {
          method: "POST",
        });
        assert.equal(missing.status, 404);
        await missing.body?.cancel();
        const after = await (await api(`${server.url}/api/notifications?unread=1`, aliceToken)).json();
        assert.equal(after.unreadCount, 3);
        assert.equal(after.items.length, 3);
        const bobs = await (await api(`${server.url}/api/notifications`, bobToken)).json();
        assert.equal(bobs.unreadCount, 1);
        assert.equal(bobs.items[0].readAt, null);
      },
    );

    await t.step("read-all marks the rest and reports how many", async () => {
      const res = await api(`${server.url}/api/notifications/read-all`, aliceToken, { method: "POST" });
      assert.deepEqual(await res.json(), { updated: 3 });
      const after = await (await api(`${server.url}/api/notifications`, aliceToken)).json();
      assert.equal(after.unreadCount, 0);
      assert.ok(after.items.every((n: { readAt: string | null }) => n.readAt));
      await postEvent(server.url, projectChanged(alice.userId, "completed"));
      const later = await (await api(`${server.url}/api/notifications?unread=1`, aliceToken)).json();
      assert.equal(later.unreadCount, 1);
      assert.equal(later.items.length, 1);
    });

    await t.step("ack marks delivered; client user_message reaches admins and answers sent", async () => {
      const admin = randomUser("admin");
      const adminSocket = (await connectWelcomed(server.wsUrl, await server.socketToken(admin))).socket;
      const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(alice));
      socket.send({
        type: "user_message",
        id: "m1",
        data: { toUserId: "admins", subject: "Help", content: "Invoice?" },
      });
      const sent = await socket.next("sent");
      assert.equal(sent.data.replyTo, "m1");
      const inbox = await adminSocket.next("user_message");
      assert.equal(inbox.stream, "role:admin");
      assert.equal(inbox.data.fromUserId, alice.userId);
      assert.equal(inbox.data.fromUserName, alice.name);
      assert.equal(inbox.id, sent.data.id);
      adminSocket.send({ type: "ack", data: { ids: [inbox.id] } });
      // A socket's frames are handled concurrently and an ack is not answered: no frame tells when its write
      // has landed, so the stored state is what the test waits for.
      const delivered = await eventually(
        async () => (await server.kv.get(deliveryKey(admin.userId, inbox.id!))).value,
        5000,
        "the ack's delivery record",
      );
      assert.ok(delivered);
      await socket.close();
      await adminSocket.close();
    });
  } finally {
    await server.close();
  }
});
