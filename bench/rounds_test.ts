import assert from "node:assert/strict";
import { median, pairedRatios, withRounds } from "./rounds.ts";

const round = (cpuUsPerFrame: number, sockets = 1_000, p99Ms = 30) => ({
  steady: {
    attempted: 1_000,
    sockets,
    refused: sockets < 1_000 ? { "503": 1_000 - sockets } : {},
    lost: 0,
    p99Ms,
    cpuUsPerFrame,
  },
  events: { events: 600, cpuUsPerEvent: 3_000 },
});

Deno.test("median() is the middle value, or the mean of the middle two", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

Deno.test("withRounds(undefined, ) gives each figure's median, the fewest sockets held and the refusals added up", () => {
  const rounds = [round(12, 1_000, 40), round(10, 998, 20), round(15, 1_000, 30)];
  const summary = withRounds(undefined, rounds);
  assert.equal(summary.steady.cpuUsPerFrame, 12);
  assert.equal(summary.steady.p99Ms, 30);
  assert.equal(summary.steady.sockets, 998, "a round that held fewer did not measure the peers' workload");
  assert.deepEqual(summary.steady.refused, { "503": 2 });
  assert.equal(summary.events.cpuUsPerEvent, 3_000);
  assert.equal(summary.rounds, rounds, "the rounds are kept, for results.json and the paired ratios");
});

Deno.test("pairedRatios() sets each round against its pair and takes the median", () => {
  const service = withRounds(undefined, [round(12), round(10), round(15)]);
  const bare = withRounds(undefined, [round(10), round(10), round(10)]);
  const ratios = pairedRatios(service, bare, (r) => r.steady?.cpuUsPerFrame);
  assert.deepEqual(ratios, { each: [1.2, 1, 1.5], median: 1.2 });
  assert.equal(
    pairedRatios(service, withRounds(undefined, [round(10)]), (r) => r.steady?.cpuUsPerFrame),
    null,
  );
  assert.equal(pairedRatios(service, undefined, (r) => r.steady?.cpuUsPerFrame), null);
  assert.equal(pairedRatios(service, bare, (r) => r.relay?.cpuUsPerFrame), null, "a figure no round has");
});

Deno.test("withRounds() keeps the main run's other workloads, and the worst places left of all runs", () => {
  const places = (leaked: number, freeAfterMs: number | null) => ({
    leaked,
    byUser: 0,
    byIp: leaked,
    freeAfterMs,
  });
  const main = { idle: { sockets: 10_000 }, placesLeft: places(0, 900) };
  const rounds = [
    { oneAddress: { held: 15_000, perSecond: 800, handshake: { p99Ms: 900 } }, placesLeft: places(0, 300) },
    {
      oneAddress: { held: 14_990, perSecond: 700, handshake: { p99Ms: 2_000 } },
      placesLeft: places(2, null),
    },
    { oneAddress: { held: 15_000, perSecond: 1_000, handshake: { p99Ms: 600 } }, placesLeft: places(0, 200) },
  ];
  const summary = withRounds(main, rounds);
  assert.deepEqual(summary.idle, main.idle);
  assert.deepEqual(summary.oneAddress, { held: 14_990, perSecond: 800, handshake: { p99Ms: 900 } });
  assert.deepEqual(summary.placesLeft, { leaked: 2, byUser: 0, byIp: 2, freeAfterMs: null });
});

Deno.test("withRounds() spans the settled RSS ranges of every round, lowest low to highest high", () => {
  const idle = (rssPerSocketKb: number, range: [number, number]) => ({
    idle: { rssPerSocketKb, rssSettledRangeKb: range },
  });
  const summary = withRounds(undefined, [
    idle(19.9, [17.9, 23.2]),
    idle(20.4, [18, 24.5]),
    idle(19.5, [16.8, 22]),
  ]);
  assert.deepEqual(summary.idle, { rssPerSocketKb: 19.9, rssSettledRangeKb: [16.8, 24.5] });
});
