import assert from "node:assert/strict";
import { counterTotal, createMetrics } from "./metrics.ts";

Deno.test("metrics.inc() counts a series per label set; counterTotal() sums the matching ones", () => {
  const metrics = createMetrics();
  metrics.inc("realtime_frames_total", { direction: "in", type: "ping" });
  metrics.inc("realtime_frames_total", { direction: "out", type: "ping" }, 3);
  metrics.inc("realtime_connections_opened_total");
  metrics.inc("realtime_notification_list_entries_total", undefined, 7);
  const snapshot = metrics.snapshot();
  assert.deepEqual(snapshot.counters, {
    'realtime_frames_total{direction="in",type="ping"}': 1,
    'realtime_frames_total{direction="out",type="ping"}': 3,
    realtime_connections_opened_total: 1,
    realtime_notification_list_entries_total: 7,
  });
  assert.equal(counterTotal(snapshot, "realtime_frames_total"), 4);
  assert.equal(counterTotal(snapshot, "realtime_frames_total", { direction: "out" }), 3);
});

Deno.test("metrics take only the names and labels the families table declares (checked by the compiler)", () => {
  const metrics = createMetrics();
  // Each line below is a type error; `deno test` and `deno task check` fail if one of them compiles.
  // @ts-expect-error: a misspelt counter
  metrics.inc("realtime_frame_total", { direction: "in", type: "ping" });
  // @ts-expect-error: a histogram is observed, not counted
  metrics.inc("realtime_delivery_latency_seconds");
  // @ts-expect-error: a label the family does not declare
  metrics.inc("realtime_rate_limited_total", { kind: "api", route: "/x" });
  // @ts-expect-error: a labelled family without its labels
  metrics.inc("realtime_webhooks_total");
  // @ts-expect-error: one of the family's two labels missing
  metrics.inc("realtime_frames_total", { direction: "in" });
  // @ts-expect-error: labels on a family without any
  metrics.inc("realtime_slow_consumers_total", { reason: "x" });
  // @ts-expect-error: a misspelt histogram
  metrics.observe("realtime_delivery_latency", 0.1);
  // @ts-expect-error: a misspelt counter in a query
  counterTotal(metrics.snapshot(), "realtime_frames");
  // At run time the calls above still count (only the compiler refuses them): one of them under a declared name.
  assert.equal(counterTotal(metrics.snapshot(), "realtime_frames_total"), 1);
});
