/**
 * Valid events too large to store: an `admin.alert` whose free-form `data` makes the stored notification pass
 * Deno KV's 64 KiB value limit. Each is refused before anything is stored (413 for a webhook, also on every
 * retry; an `error` frame on a socket), never a 5xx nor `internal_error`; one that just fits is stored,
 * delivered, listed and relayed whole.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { NOTIFICATION_SIZE_LIMIT, storedSize } from "../../lib/notification_size.ts";
import { draftsFor } from "../../lib/events.ts";
import { relayLogPrefix } from "../../lib/keys.ts";
import type { RelayEvent } from "../../lib/relay.ts";
import { createKvRelay } from "../../lib/relay_kv.ts";
import { notificationData } from "../../lib/notification_view.ts";
import { randomUser, startTestServer, type TestServer } from "../helpers/server.ts";
import { connectWelcomed } from "../helpers/socket.ts";
import { postEvent } from "../helpers/webhook.ts";

const alertOf = (blob: string) => ({
  type: "admin.alert" as const,
  data: { event: "disk_full", message: "Disk almost full", data: { blob }, requiresAction: true },
});

/** The longest ASCII blob whose alert still fits in storage (exact, by bisection). */
function largestFittingBlob(): number {
  let [low, high] = [0, 70_000];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (storedSize(draftsFor(alertOf("a".repeat(mid)))[0]) <= NOTIFICATION_SIZE_LIMIT) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** What a refused webhook must leave as it was: the admin stream's head and the webhook id. */
async function storeState(server: TestServer, webhookId: string) {
  return {
    head: (await server.service.parts.store.heads(["role:admin"]))["role:admin"],
    remembered: (await server.kv.get(["webhook_ids", webhookId])).value,
  };
}

Deno.test("[adversarial] events too large to store get 413 or an error frame; one that fits arrives whole", async (t) => {
  const errors: string[] = [];
  const log = createLogger("error", {}, (line) => errors.push(line));
  const server = await startTestServer({ log, relay: (kv) => createKvRelay(kv, { log }) });
  const admin = randomUser("admin");
  const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(admin));
  try {
    /** Posts the same body with the same webhook-id twice, as a sender retrying would. */
    const postTwice = async (body: unknown) => {
      const id = `msg_${crypto.randomUUID()}`;
      const before = await storeState(server, id);
      const answers = [];
      for (let i = 0; i < 2; i++) {
        const res = await postEvent(server.url, body, { id });
        answers.push({ status: res.status, body: await res.json() });
      }
      assert.deepEqual(await storeState(server, id), before, "a refused webhook stored something");
      return answers;
    };

    await t.step("33 KB of ASCII and one emoji: 413 payload_too_large, and again on retry", async () => {
      const body = alertOf(`${"a".repeat(33 * 1024)}😀`);
      assert.ok(new TextEncoder().encode(JSON.stringify(body)).length < 65536);
      for (const answer of await postTwice(body)) {
        assert.equal(answer.status, 413);
        assert.equal(answer.body.error.code, "payload_too_large");
        assert.match(answer.body.error.message, /the limit is 64512 bytes \(Deno KV's 64 KiB value limit/);
      }
    });

    await t.step("a 64 KB ASCII body, within MESSAGE_SIZE_LIMIT: 413, and again on retry", async () => {
      const empty = JSON.stringify(alertOf("")).length;
      const body = alertOf("a".repeat(65536 - empty));
      assert.equal(new TextEncoder().encode(JSON.stringify(body)).length, 65536);
      for (const answer of await postTwice(body)) {
        assert.equal(answer.status, 413);
        assert.equal(answer.body.error.code, "payload_too_large");
      }
    });

    const fitting = alertOf("a".repeat(largestFittingBlob()));

    await t.step("one character more than fits: 413", async () => {
      const over = alertOf(`${fitting.data.data.blob}a`);
      const [answer] = await postTwice(over);
      assert.equal(answer.status, 413);
    });

    await t.step("a just-fitting alert: 202, delivered, listed and relayed whole", async () => {
      const id = `msg_${crypto.randomUUID()}`;
      const res = await postEvent(server.url, fitting, { id });
      assert.equal(res.status, 202);
      const { notifications: [{ id: notificationId }] } = await res.json();
      const frame = await socket.next((f) => f.id === notificationId);
      assert.equal(frame.type, "admin_alert");
      assert.equal(frame.message, "Disk almost full");
      assert.deepEqual(frame.data, fitting.data);
      const list = await fetch(`${server.url}/api/notifications?limit=1`, {
        headers: { authorization: `Bearer ${await server.sessionToken(admin)}` },
      });
      const [item] = (await list.json()).items;
      assert.equal(item.id, notificationId);
      assert.deepEqual(item.data, fitting.data);
      assert.equal("messageField" in item, false);
      // The KV relay's log entry holds it too: the relay's envelope had room.
      const logged: RelayEvent[] = [];
      for await (const entry of server.kv.list<RelayEvent>({ prefix: relayLogPrefix() })) {
        logged.push(entry.value);
      }
      const relayed = logged.find((e) => e.kind === "notification" && e.notification.id === notificationId);
      assert.ok(relayed && relayed.kind === "notification");
      assert.deepEqual(notificationData(relayed.notification), fitting.data);
      assert.equal(server.service.parts.relay.health().healthy, true);
      // Its retry is the usual duplicate.
      const again = await postEvent(server.url, fitting, { id });
      assert.equal(again.status, 200);
      assert.equal((await again.json()).duplicate, true);
    });

    await t.step(
      "an admin_alert frame too large to store: error payload_too_large; the socket goes on",
      async () => {
        const head = (await server.service.parts.store.heads(["role:admin"]))["role:admin"];
        socket.send({ type: "admin_alert", id: "big", data: alertOf(`${"a".repeat(33 * 1024)}😀`).data });
        const error = await socket.next("error");
        assert.equal(error.data.code, "payload_too_large");
        assert.equal(error.data.replyTo, "big");
        assert.equal((await server.service.parts.store.heads(["role:admin"]))["role:admin"], head);
        socket.send({ type: "admin_alert", id: "small", data: alertOf("fits").data });
        const sent = await socket.next("sent");
        assert.equal(sent.data.replyTo, "small");
      },
    );

    assert.deepEqual(errors, [], "an oversized event was logged as a server error");
  } finally {
    await socket.close();
    await server.close();
  }
});
