import assert from "node:assert/strict";
import { descriptorsNeeded, readDescriptorLimit } from "./fd_limit.ts";

const FIXTURE = new URL("../tests/helpers/raise_limit.ts", import.meta.url).pathname;

async function runFixture(args: string[], prlimit?: string) {
  const command = [...(prlimit ? ["prlimit", `--nofile=${prlimit}`] : []), Deno.execPath(), "run", ...args];
  const output = await new Deno.Command(command[0], { args: command.slice(1), stderr: "inherit" }).output();
  assert.equal(output.code, 0);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

Deno.test("descriptorsNeeded() covers MAX_CONNECTIONS × workers plus headroom that grows with the workers", () => {
  assert.ok(descriptorsNeeded(1000, 2) > 2000);
  assert.ok(descriptorsNeeded(1000, 4) - descriptorsNeeded(1000, 2) > 2000);
  assert.ok(descriptorsNeeded(1, 1) < 200);
});

Deno.test("raiseDescriptorLimit() raises the soft limit to the hard limit, saying from what", async () => {
  const outcome = await runFixture(["--allow-ffi", "--allow-read", FIXTURE, "--lower=256"], "4096");
  assert.deepEqual(outcome, { limit: { soft: 4096, hard: 4096 }, raisedFrom: 256 });
});

Deno.test("raiseDescriptorLimit() leaves a limit already at its hard limit alone", async () => {
  const outcome = await runFixture(["--allow-ffi", "--allow-read", FIXTURE], "2048");
  assert.deepEqual(outcome, { limit: { soft: 2048, hard: 2048 } });
});

Deno.test("raiseDescriptorLimit() without --allow-ffi says why instead of failing", async () => {
  const outcome = await runFixture([FIXTURE], "3000");
  assert.equal(outcome.problem, "calling setrlimit needs --allow-ffi");
});

Deno.test("readDescriptorLimit() reads this process's limit", () => {
  const limit = readDescriptorLimit();
  assert.ok(limit && limit.soft > 0 && limit.soft <= limit.hard);
});
