import assert from "node:assert/strict";
import { V8_FLAGS } from "./v8_flags.ts";

Deno.test("deno task start gives the service the V8 flags the bench gives its peers", async () => {
  // The flags must be on the command line of the process that runs the workers: V8 reads them as each
  // worker's heap is made, and setting them from script (node:v8) does not reach the workers' heaps.
  const { tasks } = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.ok(tasks.start.split(/\s+/).includes(`--v8-flags=${V8_FLAGS}`), tasks.start);
});
