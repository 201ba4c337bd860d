import assert from "node:assert/strict";
import { openNativeMemoryTrim } from "./native_memory.ts";

Deno.test("openNativeMemoryTrim(): glibc's malloc_trim on this Linux machine, and it runs", () => {
  const trim = openNativeMemoryTrim();
  assert.ok(trim, "Linux with glibc and --allow-ffi has malloc_trim");
  // Freed native memory for it to find: buffers the runtime allocated and let go.
  for (let i = 0; i < 1_000; i++) new TextEncoder().encode("x".repeat(10_000));
  assert.equal(typeof trim(), "boolean");
});
