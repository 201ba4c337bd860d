/**
 * Hostile webhooks (SPEC §4 and §6): forged, truncated and misdated signatures, missing headers, replays,
 * prototype-polluting bodies, oversized and slow bodies. Each gets its documented status, and none stores or
 * delivers anything it should not.
 */
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import type { Stream } from "../../lib/keys.ts";
import { randomUser, startTestServer, TEST_WEBHOOK_SECRET, type TestServer } from "../helpers/server.ts";
import { connectWelcomed } from "../helpers/socket.ts";
import { announcement, postEvent, projectChanged } from "../helpers/webhook.ts";
import { rawTcp, sleep } from "./helpers.ts";

const SIZE_LIMIT = 4096;
const nowSeconds = () => Math.floor(Date.now() / 1000);

interface Attempt {
  id?: string;
  timestamp?: string;
  signature?: string;
  body?: string;
}

/** Posts `body` with headers signed for it, then spoilt as `attempt` says (`""` drops a header). */
async function post(server: TestServer, attempt: Attempt = {}) {
  const body = attempt.body ?? JSON.stringify(announcement());
  const id = attempt.id ?? `msg_${crypto.randomUUID()}`;
  const timestamp = attempt.timestamp ?? String(nowSeconds());
  const signed = /^\d+$/.test(timestamp) ? Number(timestamp) : nowSeconds();
  const signature = attempt.signature ??
    new Webhook(TEST_WEBHOOK_SECRET).sign(id, new Date(signed * 1000), body);
  const headers = new Headers({ "content-type": "application/json" });
  for (
    const [name, value] of [["webhook-id", id], ["webhook-timestamp", timestamp], [
      "webhook-signature",
      signature,
    ]]
  ) {
    if (value !== "") headers.set(name, value);
  }
  const res = await fetch(`${server.url}/api/webhooks/events`, { method: "POST", headers, body });
  return { status: res.status, body: await res.json() };
}

/** The stream heads and this webhook id: what a refused webhook must leave as it was. */
async function storeState(server: TestServer, webhookId?: string) {
  const streams: Stream[] = ["all", "role:admin"];
  const heads = await server.service.parts.store.heads(streams);
  const remembered = webhookId ? (await server.kv.get(["webhook_ids", webhookId])).value : null;
  return { heads, remembered };
}

Deno.test("[adversarial] hostile webhooks get their documented status and change nothing", async (t) => {
  const server = await startTestServer({ env: { MESSAGE_SIZE_LIMIT: String(SIZE_LIMIT) } });
  const sign = (id: string, timestamp: number, body: string) =>
    new Webhook(TEST_WEBHOOK_SECRET).sign(id, new Date(timestamp * 1000), body);
  try {
    const untouched = await storeState(server);

    await t.step(
      "forged, truncated, mis-versioned and misplaced signatures → 401 invalid_signature",
      async () => {
        const body = JSON.stringify(announcement());
        const good = sign("msg_x", nowSeconds(), body);
        const cases: Record<string, Attempt> = {
          "random bytes": { signature: `v1,${btoa("0123456789abcdef0123456789abcdef")}` },
          "truncated": { id: "msg_x", body, signature: good.slice(0, -6) },
          "cut to the prefix": { id: "msg_x", body, signature: "v1," },
          "another version": { id: "msg_x", body, signature: good.replace("v1,", "v2,") },
          "not base64": { id: "msg_x", body, signature: "v1,!!!not-base64!!!" },
          "for another body": { id: "msg_x", body: JSON.stringify(announcement("Other")), signature: good },
          "for another id": { id: "msg_y", body, signature: good },
          "signed with another secret": {
            body,
            signature: new Webhook(`whsec_${btoa("another-secret-of-32-bytes-long!")}`).sign(
              "msg_z",
              new Date(),
              body,
            ),
            id: "msg_z",
          },
        };
        for (const [name, attempt] of Object.entries(cases)) {
          const res = await post(server, attempt);
          assert.equal(res.status, 401, name);
          assert.equal(res.body.error.code, "invalid_signature", name);
        }
      },
    );

    await t.step("missing headers → 400 missing_headers", async () => {
      for (const header of ["id", "timestamp", "signature"] as const) {
        const res = await post(server, { [header]: "" });
        assert.equal(res.status, 400, header);
        assert.equal(res.body.error.code, "missing_headers");
      }
    });

    await t.step("stale, future and non-digit timestamps → 401, even correctly signed", async () => {
      for (const timestamp of [nowSeconds() - 301, nowSeconds() + 305, 0, 99999999999]) {
        assert.equal((await post(server, { timestamp: String(timestamp) })).status, 401, String(timestamp));
      }
      // (Surrounding spaces are not tried: HTTP strips them from header values before anyone sees them.)
      for (
        const timestamp of [
          "1e9",
          "-100",
          `+${nowSeconds()}`,
          `${nowSeconds()}.5`,
          `${nowSeconds()}abc`,
          "0x6553f100",
        ]
      ) {
        const body = JSON.stringify(announcement());
        const res = await post(server, {
          id: "msg_t",
          timestamp,
          body,
          signature: sign("msg_t", nowSeconds(), body),
        });
        assert.equal(res.status, 401, timestamp);
      }
      // The tolerance is ±300 s: just inside it is accepted.
      assert.equal((await post(server, { timestamp: String(nowSeconds() - 290) })).status, 202);
    });

    await t.step("a replayed webhook-id answers 200 duplicate and is delivered once", async () => {
      const user = randomUser();
      const { socket } = await connectWelcomed(server.wsUrl, await server.socketToken(user));
      const event = projectChanged(user.userId);
      const first = await postEvent(server.url, event, { id: "msg_replayed" });
      assert.equal(first.status, 202);
      await first.body?.cancel();
      // The same id again, sequentially and then ten at once (a retry storm racing itself).
      const again = [
        await postEvent(server.url, event, { id: "msg_replayed" }),
        ...await Promise.all(
          Array.from({ length: 10 }, () => postEvent(server.url, event, { id: "msg_replayed" })),
        ),
      ];
      for (const res of again) {
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { id: "msg_replayed", duplicate: true });
      }
      const racing = await Promise.all(
        Array.from({ length: 10 }, () => postEvent(server.url, event, { id: "msg_race" })),
      );
      assert.deepEqual(racing.map((r) => r.status).sort(), [
        200,
        200,
        200,
        200,
        200,
        200,
        200,
        200,
        200,
        202,
      ]);
      await Promise.all(racing.map((r) => r.body?.cancel()));
      socket.send({ type: "ping", id: "sync" });
      await socket.next("pong");
      assert.deepEqual(socket.frames.filter((f) => f.type === "project_update").map((f) => f.seq), [1, 2]);
      await socket.close();
    });

    await t.step(
      "__proto__, constructor and prototype bodies → 422, nothing stored, id not burnt",
      async () => {
        const before = await storeState(server, "msg_proto");
        const bodies = [
          '{"type":"announcement.published","data":{"__proto__":{"admin":true},"title":"t","message":"m","priority":"low"}}',
          '{"__proto__":{"type":"announcement.published"},"type":"announcement.published","data":{}}',
          '{"type":"announcement.published","data":{"title":"t","message":"m","priority":"low","constructor":{"prototype":{"admin":true}}}}',
          '{"type":"admin.alert","data":{"event":"e","message":"m","requiresAction":false,"data":{"__proto__":{"x":1}}}}',
        ];
        for (const body of bodies) {
          const res = await post(server, { id: "msg_proto", body });
          assert.equal(res.status, 422, body);
          assert.equal(res.body.error.code, "invalid_event");
          assert.ok(Array.isArray(res.body.error.issues));
        }
        assert.deepEqual(await storeState(server, "msg_proto"), before);
        assert.equal(({} as Record<string, unknown>).admin, undefined);
        // A refused body does not burn its id: the platform's corrected retry is accepted.
        assert.equal((await post(server, { id: "msg_proto" })).status, 202);
      },
    );

    await t.step("bodies over MESSAGE_SIZE_LIMIT → 413, with or without content-length", async () => {
      const before = await storeState(server);
      const pad = "x".repeat(SIZE_LIMIT);
      const declared = await post(server, {
        body: JSON.stringify({ ...announcement(), pad }),
        signature: "v1,AAAA",
      });
      assert.equal(declared.status, 413);
      assert.equal(declared.body.error.code, "payload_too_large");

      // Chunked, so the size is only known while reading: the server must stop at the limit.
      const tcp = await rawTcp(server.port);
      await tcp.write(
        "POST /api/webhooks/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n" +
          `webhook-id: msg_chunked\r\nwebhook-timestamp: ${nowSeconds()}\r\nwebhook-signature: v1,AAAA\r\n\r\n`,
      );
      for (let i = 0; i < 8; i++) await tcp.write(`400\r\n${"y".repeat(1024)}\r\n`).catch(() => {});
      const { bytes } = await tcp.readToEnd(3000, (text) => text.includes("\r\n\r\n"));
      tcp.close();
      assert.match(new TextDecoder().decode(bytes), /^HTTP\/1\.1 413 /);
      assert.deepEqual(await storeState(server), before);
    });

    await t.step("slowly trickled bodies do not block other requests", async () => {
      const trickles = await Promise.all(Array.from({ length: 20 }, () => rawTcp(server.port)));
      for (const tcp of trickles) {
        await tcp.write(
          "POST /api/webhooks/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n" +
            `webhook-id: msg_slow\r\nwebhook-timestamp: ${nowSeconds()}\r\nwebhook-signature: v1,AAAA\r\n\r\n{`,
        );
      }
      const dripping = (async () => {
        for (let i = 0; i < 5; i++) {
          await sleep(100);
          for (const tcp of trickles) await tcp.write(" ");
        }
      })();
      const started = Date.now();
      const res = await post(server);
      assert.equal(res.status, 202);
      assert.ok(Date.now() - started < 1000, "a normal webhook waited for the slow ones");
      await dripping;
      for (const tcp of trickles) tcp.close();
    });

    await t.step("nothing refused above reached the store", async () => {
      // Accepted above: the tolerance check, two project changes (two streams each), the proto retry.
      const { heads } = await storeState(server);
      assert.deepEqual(heads, {
        all: untouched.heads.all + 3,
        "role:admin": untouched.heads["role:admin"] + 2,
      });
    });
  } finally {
    await server.close();
  }
});
