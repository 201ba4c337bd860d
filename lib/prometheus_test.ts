import assert from "node:assert/strict";
import { parsePrometheus, sampleValue } from "../tests/helpers/prometheus.ts";
import { createMetrics, mergeSnapshots } from "./metrics.ts";
import { renderPrometheus } from "./prometheus.ts";

const REQUIRED = {
  realtime_connections: "gauge",
  realtime_frames_total: "counter",
  realtime_webhooks_total: "counter",
  realtime_delivery_latency_seconds: "histogram",
  realtime_relay_lag_seconds: "histogram",
  realtime_slow_consumers_total: "counter",
  realtime_auth_failures_total: "counter",
  realtime_rate_limited_total: "counter",
};

Deno.test("renderPrometheus() writes every family with HELP and TYPE, parseable by a strict parser", async (t) => {
  await t.step("an empty registry still declares every family", () => {
    const text = renderPrometheus({
      snapshot: createMetrics().snapshot(),
      connectionsByRole: { admin: 0, client: 0 },
      isolates: 1,
    });
    const families = parsePrometheus(text);
    for (const [name, type] of Object.entries(REQUIRED)) {
      assert.equal(families.get(name)?.type, type, name);
      assert.ok(families.get(name)?.help, `${name} has HELP`);
    }
    assert.equal(sampleValue(families, "realtime_slow_consumers_total"), 0);
    assert.equal(sampleValue(families, "realtime_delivery_latency_seconds_count"), 0);
  });

  await t.step("two isolates' snapshots add up, labels and buckets included", () => {
    const a = createMetrics();
    const b = createMetrics();
    a.inc("realtime_frames_total", { direction: "in", type: "ping" }, 3);
    b.inc("realtime_frames_total", { direction: "in", type: "ping" }, 2);
    b.inc("realtime_webhooks_total", { status: "accepted" });
    a.observe("realtime_delivery_latency_seconds", 0.003);
    b.observe("realtime_delivery_latency_seconds", 0.2);
    b.observe("realtime_delivery_latency_seconds", 30);
    const families = parsePrometheus(renderPrometheus({
      snapshot: mergeSnapshots([a.snapshot(), b.snapshot()]),
      connectionsByRole: { admin: 1, client: 4 },
      isolates: 2,
    }));
    assert.equal(sampleValue(families, "realtime_frames_total", { direction: "in", type: "ping" }), 5);
    assert.equal(sampleValue(families, "realtime_webhooks_total", { status: "accepted" }), 1);
    assert.equal(sampleValue(families, "realtime_connections", { role: "client" }), 4);
    assert.equal(sampleValue(families, "realtime_isolates"), 2);
    const bucket = (le: string) => sampleValue(families, "realtime_delivery_latency_seconds_bucket", { le });
    assert.equal(bucket("0.0025"), 0);
    assert.equal(bucket("0.005"), 1);
    assert.equal(bucket("0.25"), 2);
    assert.equal(bucket("10"), 2);
    assert.equal(bucket("+Inf"), 3);
    assert.equal(sampleValue(families, "realtime_delivery_latency_seconds_count"), 3);
    assert.ok(Math.abs(sampleValue(families, "realtime_delivery_latency_seconds_sum")! - 30.203) < 1e-9);
  });

  await t.step("the test parser is strict: it refuses what Prometheus refuses", () => {
    assert.throws(() => parsePrometheus("a 1"), /newline/);
    assert.throws(() => parsePrometheus('a{b="1} 1\n'), /unterminated/);
    assert.throws(() => parsePrometheus("a 1\n# TYPE a counter\n"), /TYPE after samples/);
    assert.throws(() => parsePrometheus("a 1\nb 1\na 2\n"), /interleaved/);
    assert.throws(
      () => parsePrometheus('# TYPE h histogram\nh_bucket{le="1"} 2\nh_sum 1\nh_count 2\n'),
      /\+Inf/,
    );
    assert.throws(() => parsePrometheus("1a 1\n"), /not a sample/);
  });
});
