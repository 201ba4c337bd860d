import assert from "node:assert/strict";
import { createLogger } from "./log.ts";
import { counterTotal, createMetrics } from "./metrics.ts";
import { createRelayHealthTracker } from "./relay_health.ts";

/** A tracker for relay "redis" whose log lines and metrics the test reads. */
function tracked() {
  const lines: Array<Record<string, unknown>> = [];
  const metrics = createMetrics();
  const log = createLogger("debug", {}, (line) => lines.push(JSON.parse(line)));
  const tracker = createRelayHealthTracker("redis", log, metrics);
  const errorsOf = (part: string) =>
    counterTotal(metrics.snapshot(), "realtime_relay_errors_total", { relay: "redis", part });
  return { tracker, lines, errorsOf };
}

Deno.test("relay health: healthy with no error until a part fails", () => {
  const { tracker, lines } = tracked();
  assert.deepEqual(tracker.health(), { name: "redis", healthy: true, errors: 0 });
  tracker.ok("publisher");
  assert.deepEqual(tracker.health(), { name: "redis", healthy: true, errors: 0 });
  assert.deepEqual(lines, []);
});

Deno.test("relay health: every failure is counted; only the first of a part's spell is logged, at error", async (t) => {
  const { tracker, lines, errorsOf } = tracked();

  await t.step("a failure: unhealthy, the part and its error in the detail, one error line", () => {
    tracker.fail("publisher", new Error("connection refused"));
    assert.deepEqual(tracker.health(), {
      name: "redis",
      healthy: false,
      errors: 1,
      detail: "publisher: connection refused",
    });
    assert.equal(errorsOf("publisher"), 1);
    assert.equal(lines.length, 1);
    assert.equal(lines[0].level, "error");
    assert.match(String(lines[0].msg), /^Relay failing/);
    assert.equal(lines[0].relay, "redis");
    assert.equal(lines[0].part, "publisher");
    assert.equal(lines[0].error, "connection refused");
  });

  await t.step("the same part failing again: counted, its latest error shown, no new line", () => {
    tracker.fail("publisher", new Error("connection reset"));
    assert.equal(tracker.health().detail, "publisher: connection reset");
    assert.equal(tracker.health().errors, 2);
    assert.equal(errorsOf("publisher"), 2);
    assert.equal(lines.length, 1);
  });

  await t.step("another part failing: both in the detail, logged once for itself", () => {
    tracker.fail("subscriber", "timeout");
    assert.equal(tracker.health().detail, "publisher: connection reset; subscriber: timeout");
    assert.equal(errorsOf("subscriber"), 1);
    assert.equal(lines.length, 2);
    assert.equal(lines[1].part, "subscriber");
  });

  await t.step("recovery: logged once per part at warn; healthy once every part is", () => {
    tracker.ok("publisher");
    assert.equal(tracker.health().healthy, false);
    assert.equal(tracker.health().detail, "subscriber: timeout");
    tracker.ok("subscriber");
    tracker.ok("subscriber");
    assert.deepEqual(tracker.health(), { name: "redis", healthy: true, errors: 3 });
    const recoveries = lines.filter((l) => l.msg === "Relay recovered");
    assert.deepEqual(recoveries.map((l) => [l.level, l.part]), [["warn", "publisher"], [
      "warn",
      "subscriber",
    ]]);
  });

  await t.step("a new spell after a recovery is logged again", () => {
    tracker.fail("publisher", new Error("connection refused"));
    assert.equal(lines.filter((l) => String(l.msg).startsWith("Relay failing")).length, 3);
  });
});

Deno.test("relay health: a part still starting is unhealthy, but neither counted nor logged", () => {
  const { tracker, lines, errorsOf } = tracked();
  tracker.starting("subscriber", "connecting to redis://127.0.0.1:6379");
  assert.deepEqual(tracker.health(), {
    name: "redis",
    healthy: false,
    errors: 0,
    detail: "subscriber: connecting to redis://127.0.0.1:6379",
  });
  assert.equal(errorsOf("subscriber"), 0);
  tracker.ok("subscriber");
  assert.deepEqual(tracker.health(), { name: "redis", healthy: true, errors: 0 });
  assert.deepEqual(lines, [], "neither the start nor its end is an outage");
});

Deno.test("relay health: an error without a message is named by its class; metrics are optional", () => {
  const log = createLogger("error", {}, () => {});
  const tracker = createRelayHealthTracker("kv", log);
  tracker.fail("watch", new TypeError());
  assert.equal(tracker.health().detail, "watch: TypeError");
  assert.equal(tracker.health().errors, 1);
});
