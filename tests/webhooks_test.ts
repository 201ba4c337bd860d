import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { signWebhook, verifyWebhook, webhookKeys } from "../lib/webhook_signature.ts";
import { randomUser, startTestServer, TEST_WEBHOOK_SECRET } from "./helpers/server.ts";
import { connectWelcomed } from "./helpers/socket.ts";
import { announcement, postEvent, projectChanged } from "./helpers/webhook.ts";

const encoder = new TextEncoder();

Deno.test("webhook signatures match the Standard Webhooks test vector and package", async (t) => {
  const [key] = webhookKeys(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]);
  const body = encoder.encode('{"test": 2432232314}');
  await t.step("the published vector", () => {
    assert.equal(
      signWebhook(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body),
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    );
    const headers = {
      id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
      timestamp: "1614265330",
      signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    };
    assert.equal(verifyWebhook([key], headers, body, 1614265330), "ok");
    assert.equal(verifyWebhook([key], headers, body, 1614265330 + 301), "invalid_timestamp");
    assert.equal(
      verifyWebhook([key], { ...headers, timestamp: "16142653e3" }, body, 1614265330),
      "invalid_timestamp",
    );
  });
  await t.step("several signatures, several secrets (rotation)", () => {
    const [other] = webhookKeys(["whsec_" + btoa("another-secret-of-some-length!!")]);
    const signature = new Webhook(TEST_WEBHOOK_SECRET).sign("id1", new Date(1614265330_000), '{"a":1}');
    const headers = { id: "id1", timestamp: "1614265330", signature: `v1,bm9wZQ== ${signature}` };
    assert.equal(verifyWebhook([other, key], headers, encoder.encode('{"a":1}'), 1614265330), "ok");
    assert.equal(
      verifyWebhook([other], headers, encoder.encode('{"a":1}'), 1614265330),
      "invalid_signature",
    );
  });
});

Deno.test("[webhooks] POST /api/webhooks/events", async (t) => {
  const server = await startTestServer({ env: { MESSAGE_SIZE_LIMIT: "4096" } });
  try {
    const user = randomUser();
    const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(user));

    await t.step(
      "202 after storing; the user's socket gets the project_update with stream and seq",
      async () => {
        const res = await postEvent(server.url, projectChanged(user.userId), { id: "msg_first" });
        assert.equal(res.status, 202);
        const body = await res.json();
        assert.equal(body.id, "msg_first");
        assert.equal(body.notifications.length, 2);
        assert.equal(body.delivered, 1);
        const frame = await socket.next("project_update");
        assert.equal(frame.stream, `user:${user.userId}`);
        assert.equal(frame.seq, 1);
        assert.equal(frame.title, 'Project "Toko Batik" status changed to in_progress');
        assert.equal(frame.data.newStatus, "in_progress");
      },
    );

    await t.step("a repeated webhook-id answers 200 duplicate and delivers nothing", async () => {
      const res = await postEvent(server.url, projectChanged(user.userId), { id: "msg_first" });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { id: "msg_first", duplicate: true });
      socket.send({ type: "ping", id: "after" });
      await socket.next("pong");
      assert.equal(socket.frames.filter((f) => f.type === "project_update").length, 1);
      assert.deepEqual(await server.service.parts.store.heads([`user:${user.userId}`]), {
        [`user:${user.userId}`]: 1,
      });
    });

    await t.step("400 without the headers", async () => {
      const res = await fetch(`${server.url}/api/webhooks/events`, { method: "POST", body: "{}" });
      assert.equal(res.status, 400);
      assert.equal((await res.json()).error.code, "missing_headers");
    });

    await t.step("401 for a bad signature, a non-digit timestamp, or one 300 s off", async () => {
      const res = await postEvent(server.url, announcement(), {
        secret: "whsec_" + btoa("wrong secret, wrong secret!!"),
      });
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error.code, "invalid_signature");
      const stale = await postEvent(server.url, announcement(), {
        timestamp: new Date(Date.now() - 301_000),
      });
      assert.equal(stale.status, 401);
      await stale.body?.cancel();
      const future = await postEvent(server.url, announcement(), {
        timestamp: new Date(Date.now() + 301_000),
      });
      assert.equal(future.status, 401);
      await future.body?.cancel();
      const body = JSON.stringify(announcement());
      const ts = String(Math.floor(Date.now() / 1000));
      const res2 = await fetch(`${server.url}/api/webhooks/events`, {
        method: "POST",
        headers: { "webhook-id": "x", "webhook-timestamp": `${ts}.0`, "webhook-signature": "v1,AAAA" },
        body,
      });
      assert.equal(res2.status, 401);
      await res2.body?.cancel();
    });

    await t.step("413 over MESSAGE_SIZE_LIMIT", async () => {
      const big = announcement("x".repeat(5000));
      const res = await postEvent(server.url, big);
      assert.equal(res.status, 413);
      assert.equal((await res.json()).error.code, "payload_too_large");
    });

    await t.step("422 with issues for an invalid event", async () => {
      const res = await postEvent(server.url, { type: "project.status_changed", data: { userId: "u" } });
      assert.equal(res.status, 422);
      const { error } = await res.json();
      assert.equal(error.code, "invalid_event");
      assert.ok(error.issues.length > 0);
      const unknown = await postEvent(server.url, { type: "nope", data: {} });
      assert.equal(unknown.status, 422);
      await unknown.body?.cancel();
      const proto = await fetch(`${server.url}/api/webhooks/events`, { method: "POST" });
      assert.equal(proto.status, 400);
      await proto.body?.cancel();
    });

    await t.step("every event type becomes its notifications with human sentences", async () => {
      const admin = randomUser("admin");
      const adminSocket = (await connectWelcomed(server.wsUrl, await server.socketToken(admin))).socket;
      const invoice = {
        type: "invoice.status_changed",
        data: {
          userId: user.userId,
          invoiceId: "inv-9",
          projectId: "p-1",
          projectName: "Toko Batik",
          amount: 1500000,
          status: "paid",
        },
      };
      assert.equal((await postEvent(server.url, invoice)).status, 202);
      const payment = await socket.next("payment_update");
      assert.equal(payment.message, 'Payment of Rp 1.500.000 for "Toko Batik" paid successfully');

      assert.equal((await postEvent(server.url, announcement("Libur Nasional"))).status, 202);
      const ann = await socket.next((f) => f.type === "system_announcement" && f.stream === "all");
      assert.equal(ann.data.title, "Libur Nasional");
      assert.equal((await adminSocket.next((f) => f.stream === "all")).id, ann.id);

      const alert = {
        type: "admin.alert",
        data: { event: "disk", message: "Disk 90%", data: {}, requiresAction: true },
      };
      assert.equal((await postEvent(server.url, alert)).status, 202);
      const gotAlert = await adminSocket.next((f) => f.type === "admin_alert" && f.data.event === "disk");
      assert.equal(gotAlert.stream, "role:admin");

      const message = {
        type: "message.sent",
        data: {
          fromUserId: admin.userId,
          fromUserName: "Rina",
          toUserId: user.userId,
          subject: "Hi",
          content: "Hello",
        },
      };
      assert.equal((await postEvent(server.url, message)).status, 202);
      const msg = await socket.next("user_message");
      assert.equal(msg.data.content, "Hello");
      assert.equal(socket.frames.some((f) => f.type === "admin_alert"), false);
      await adminSocket.close();
    });
    await socket.close();
  } finally {
    await server.close();
  }
});
