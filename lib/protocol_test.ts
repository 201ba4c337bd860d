import assert from "node:assert/strict";
import {
  CLIENT_CLOSE,
  CLOSE,
  type CloseCode,
  isControlFrameType,
  NOTIFICATION_TYPES,
  reconnectsAfter,
} from "./protocol.ts";
import { notificationTypeSchema } from "./schemas.ts";

const everyClose: CloseCode[] = [...Object.values(CLOSE), ...Object.values(CLIENT_CLOSE)];

Deno.test("protocol: only a normal close (1000) and an administrator's (4500) tell a client to stay away", () => {
  assert.equal(reconnectsAfter(1000), false);
  assert.equal(reconnectsAfter(4500), false);
  for (const code of [1001, 1003, 1008, 1009, 1013, 4000, 4008]) {
    assert.equal(reconnectsAfter(code), true, `${code}`);
  }
  // Codes nobody here sends: a dropped link, a proxy's server error.
  assert.equal(reconnectsAfter(1006), true);
  assert.equal(reconnectsAfter(1011), true);
});

Deno.test("protocol: causes that share a close code share its reconnect flag", () => {
  for (const close of everyClose) {
    assert.equal(reconnectsAfter(close.code), close.reconnect, `${close.code} ${close.reason}`);
  }
});

Deno.test("protocol: control frame types are told from notification types", () => {
  for (const type of ["welcome", "pong", "error", "resumed", "auth_ok", "sent", "metrics"]) {
    assert.equal(isControlFrameType(type), true, type);
  }
  for (const type of [...NOTIFICATION_TYPES, "toString", "__proto__", undefined, 1]) {
    assert.equal(isControlFrameType(type), false, String(type));
  }
});

Deno.test("protocol: the server's schema accepts exactly the protocol's notification types", () => {
  assert.deepEqual(notificationTypeSchema.options, [...NOTIFICATION_TYPES]);
});

Deno.test("protocol: the module imports nothing, so the browser bundles it as it is", async () => {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("./protocol.ts", import.meta.url).href],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(success);
  const info = JSON.parse(new TextDecoder().decode(stdout)) as { modules: { specifier: string }[] };
  assert.deepEqual(info.modules.map((m) => m.specifier), [new URL("./protocol.ts", import.meta.url).href]);
});
