import assert from "node:assert/strict";
import { steadyLessEventShare } from "./figures.ts";
import { table } from "./report.ts";

Deno.test("steadyLessEventShare() takes one event's CPU, spread over a steady event's frames, off the steady figure", () => {
  const service = { steady: { cpuUsPerFrame: 15.5, sockets: 1_000 }, events: { cpuUsPerEvent: 2_660 } };
  assert.equal(steadyLessEventShare(service), 12.84);
  assert.equal(steadyLessEventShare({ steady: service.steady }), null, "no events workload, no estimate");
  assert.equal(steadyLessEventShare({ ...service, steady: { cpuUsPerFrame: 15.5, sockets: 0 } }), null);
  assert.match(
    table({
      service,
      bare_deno: { steady: { cpuUsPerFrame: 10.48, sockets: 1_000 }, events: { cpuUsPerEvent: 480 } },
    }),
    /\| steady CPU per frame less its event's share \(µs\) \| lower \| 12\.84 \| 10 \| .*1\.28× \|/,
  );
});
