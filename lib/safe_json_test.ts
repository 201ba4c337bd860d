import assert from "node:assert/strict";
import { parseSafeJson } from "./safe_json.ts";

Deno.test("parseSafeJson() refuses __proto__ keys and deep nesting, and reports syntax errors", () => {
  assert.deepEqual(parseSafeJson('{"a":[1,{"b":2}]}'), { ok: true, value: { a: [1, { b: 2 }] } });
  assert.deepEqual(parseSafeJson("{nope"), { ok: false, reason: "syntax" });
  assert.deepEqual(parseSafeJson('{"x":{"__proto__":{"admin":true}}}'), { ok: false, reason: "proto_key" });
  const nest = (n: number) => "[".repeat(n) + "]".repeat(n);
  assert.equal(parseSafeJson(nest(32)).ok, true);
  assert.deepEqual(parseSafeJson(nest(33)), { ok: false, reason: "too_deep" });
  // Deep enough to overflow a recursive reviver, yet small enough to pass the frame size limit.
  assert.deepEqual(parseSafeJson(nest(5_000)), { ok: false, reason: "too_deep" });
  assert.deepEqual(parseSafeJson(nest(100_000)), { ok: false, reason: "too_deep" });
});
