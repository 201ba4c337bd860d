import assert from "node:assert/strict";
import { counterTotal, createMetrics } from "./metrics.ts";
import { ACK_IDS_PER_MINUTE, acknowledgeWithin, createAckBudget } from "./socket_acks.ts";

Deno.test("ack budget: grants up to the budget a minute, then nothing until the next minute", () => {
  let now = 0;
  const budget = createAckBudget(1000, () => now);
  assert.equal(budget.take(500), 500);
  assert.equal(budget.take(400), 400);
  assert.equal(budget.take(500), 100);
  assert.equal(budget.take(1), 0);
  now += 59_999;
  assert.equal(budget.take(1), 0);
  now += 1;
  assert.equal(budget.take(2000), 1000);
  assert.equal(ACK_IDS_PER_MINUTE >= 100, true, "a client acking what it was sent must fit");
});

Deno.test("acknowledgeWithin() records granted ids once each and counts every dropped id by reason", async () => {
  const metrics = createMetrics();
  const budget = createAckBudget(10, () => 0);
  const recorded: string[][] = [];
  const record = (ids: string[]) => {
    recorded.push(ids);
    return Promise.resolve({ recorded: 3, already: 1, unknown: 4, foreign: 0 });
  };
  const ids = ["a", "a", ...Array.from({ length: 12 }, (_, i) => `id-${i}`)];
  const first = acknowledgeWithin(budget, ids, record, metrics);
  // The budget is charged before anything is awaited.
  assert.equal(first.overBudget, 3);
  await first.done;
  assert.deepEqual(recorded, [["a", ...Array.from({ length: 9 }, (_, i) => `id-${i}`)]]);
  const second = acknowledgeWithin(budget, ["b"], record, metrics);
  assert.equal(second.overBudget, 1);
  await second.done;
  assert.equal(recorded.length, 1, "nothing is checked past the budget");
  const snapshot = metrics.snapshot();
  assert.equal(counterTotal(snapshot, "realtime_acks_dropped_total", { reason: "over_budget" }), 4);
  assert.equal(counterTotal(snapshot, "realtime_acks_dropped_total", { reason: "unknown" }), 4);
  assert.equal(counterTotal(snapshot, "realtime_acks_dropped_total", { reason: "foreign" }), 0);
});
