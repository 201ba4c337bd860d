import assert from "node:assert/strict";
import { isKvFailure, KvUnavailableError } from "./kv.ts";

Deno.test("isKvFailure() tells store failures from request errors", async () => {
  const kv = await Deno.openKv(":memory:");
  kv.close();
  const closed = await kv.get(["x"]).catch((error) => error);
  assert.equal(isKvFailure(closed), true);
  assert.equal(isKvFailure(new Error("database or disk is full")), true);
  assert.equal(isKvFailure(new KvUnavailableError("gave up")), true);
  assert.equal(isKvFailure(new TypeError("Cannot read properties of undefined")), false);
  assert.equal(isKvFailure("database"), false);
});
