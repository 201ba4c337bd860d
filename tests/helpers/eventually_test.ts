import assert from "node:assert/strict";
import { eventually } from "./eventually.ts";

Deno.test("eventually() resolves with the first value that is not undefined, null or false", async () => {
  const answers = [undefined, null, false, 0];
  let calls = 0;
  assert.equal(await eventually(() => answers[calls++], 5000, "a number"), 0);
  assert.equal(calls, 4);
  assert.equal(await eventually(() => Promise.resolve(true), 5000, "true"), true);
});

Deno.test("eventually() rejects past its deadline naming what never came, with the state a function describes", async () => {
  await assert.rejects(
    eventually(() => false, 30, "the moon"),
    { message: "Timed out after 30 ms waiting for the moon" },
  );
  let seen = 0;
  await assert.rejects(
    eventually(() => (seen++, undefined), 30, () => `a reply; checked ${seen} times`),
    (error: Error) => /^Timed out after 30 ms waiting for a reply; checked \d+ times$/.test(error.message),
  );
  assert.ok(seen >= 2, "checked again after the first miss");
});

Deno.test("eventually() rejects at once when the check throws", async () => {
  let calls = 0;
  await assert.rejects(
    eventually(
      () => {
        calls++;
        throw new Error("wrong answer");
      },
      5000,
      "anything",
    ),
    { message: "wrong answer" },
  );
  assert.equal(calls, 1);
});
