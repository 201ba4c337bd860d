import assert from "node:assert/strict";

const FIXTURE = new URL("../tests/helpers/crash_guard_fixture.ts", import.meta.url).pathname;

Deno.test("guardAgainstCrashes() logs an uncaught error and an unhandled rejection as JSON, and the isolate lives on", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", FIXTURE],
    env: { NO_COLOR: "1" },
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  assert.equal(stdout, "worker still here\nmain still here\n");
  const entries = stderr.trim().split("\n").map((line) => JSON.parse(line));
  for (const isolate of ["main", "worker"]) {
    const mine = entries.filter((e) => e.isolate === isolate);
    const uncaught = mine.find((e) => e.msg === "Uncaught error");
    const unhandled = mine.find((e) => e.msg === "Unhandled rejection");
    assert.equal(uncaught?.level, "error", isolate);
    assert.equal(uncaught.error.message, "boom");
    assert.match(uncaught.error.stack, /crash_guard_fixture\.ts/);
    assert.equal(unhandled?.level, "error", isolate);
    assert.equal(unhandled.error.message, "nope");
  }
  assert.equal(entries.length, 4, stderr);
});
