import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { signWebhook, TIMESTAMP_TOLERANCE_SECONDS, verifyWebhook, webhookKeys } from "./webhook_signature.ts";

const encoder = new TextEncoder();
/** The secret of Standard Webhooks' published test vector. */
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const [KEY] = webhookKeys([SECRET]);
const NOW = 1614265330;

Deno.test("webhook signatures match the Standard Webhooks test vector and package", async (t) => {
  const body = encoder.encode('{"test": 2432232314}');
  await t.step("the published vector", () => {
    assert.equal(
      signWebhook(KEY, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body),
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    );
    const headers = {
      id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
      timestamp: "1614265330",
      signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    };
    assert.equal(verifyWebhook([KEY], headers, body, NOW), "ok");
    assert.equal(verifyWebhook([KEY], headers, body, NOW + 301), "invalid_timestamp");
    assert.equal(
      verifyWebhook([KEY], { ...headers, timestamp: "16142653e3" }, body, NOW),
      "invalid_timestamp",
    );
  });
  await t.step("several signatures, several secrets (rotation)", () => {
    const [other] = webhookKeys(["whsec_" + btoa("another-secret-of-some-length!!")]);
    const signature = new Webhook(SECRET).sign("id1", new Date(NOW * 1000), '{"a":1}');
    const headers = { id: "id1", timestamp: String(NOW), signature: `v1,bm9wZQ== ${signature}` };
    assert.equal(verifyWebhook([other, KEY], headers, encoder.encode('{"a":1}'), NOW), "ok");
    assert.equal(verifyWebhook([other], headers, encoder.encode('{"a":1}'), NOW), "invalid_signature");
  });
});

/** A correctly signed webhook of `body` at `timestamp`. */
function signed(body: string, timestamp = String(NOW), id = "msg_1") {
  return { id, timestamp, signature: signWebhook(KEY, id, timestamp, encoder.encode(body)) };
}

Deno.test("verifyWebhook(): the tolerance is 300 s either way, inclusive; the timestamp is 1 to 12 digits", () => {
  const body = encoder.encode("{}");
  assert.equal(TIMESTAMP_TOLERANCE_SECONDS, 300);
  for (const offset of [-300, 0, 300]) {
    assert.equal(verifyWebhook([KEY], signed("{}"), body, NOW + offset), "ok", `${offset} s off`);
  }
  for (const offset of [-301, 301]) {
    assert.equal(verifyWebhook([KEY], signed("{}"), body, NOW + offset), "invalid_timestamp", `${offset} s`);
  }
  for (const timestamp of ["", "-1614265330", " 1614265330", "1614265330.0", "0001614265330"]) {
    assert.equal(verifyWebhook([KEY], signed("{}", timestamp), body, NOW), "invalid_timestamp", timestamp);
  }
});

Deno.test("verifyWebhook(): any change to the id, the timestamp or the body breaks the signature", () => {
  const headers = signed('{"a":1}', String(NOW), "msg_a");
  assert.equal(verifyWebhook([KEY], headers, encoder.encode('{"a":1}'), NOW), "ok");
  assert.equal(verifyWebhook([KEY], headers, encoder.encode('{"a":2}'), NOW), "invalid_signature");
  assert.equal(
    verifyWebhook([KEY], { ...headers, id: "msg_b" }, encoder.encode('{"a":1}'), NOW),
    "invalid_signature",
  );
  assert.equal(
    verifyWebhook([KEY], { ...headers, timestamp: String(NOW + 1) }, encoder.encode('{"a":1}'), NOW),
    "invalid_signature",
  );
});

Deno.test("verifyWebhook(): only well-formed v1 signatures count; none at all is invalid_signature", () => {
  const body = encoder.encode("{}");
  const { signature, ...rest } = signed("{}");
  const value = signature.slice("v1,".length);
  for (
    const header of [
      "",
      " ",
      `v2,${value}`,
      `v1a,${value}`,
      value,
      "v1,",
      "v1,not base64!",
      `v1,${value.slice(4)}`,
    ]
  ) {
    assert.equal(
      verifyWebhook([KEY], { ...rest, signature: header }, body, NOW),
      "invalid_signature",
      header,
    );
  }
  assert.equal(verifyWebhook([KEY], { ...rest, signature: `v2,${value} v1,${value}` }, body, NOW), "ok");
  assert.equal(verifyWebhook([], { ...rest, signature }, body, NOW), "invalid_signature", "no secret");
});

Deno.test("webhookKeys(): the whsec_ prefix is optional; the key is the base64 it carries", () => {
  const base64 = SECRET.slice("whsec_".length);
  const [prefixed, bare] = webhookKeys([SECRET, base64]);
  assert.deepEqual(prefixed, bare);
  assert.deepEqual(new Uint8Array(prefixed), Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
});
