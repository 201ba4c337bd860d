/**
 * `deno run --allow-all bench/places_burst.ts [claims] [in flight] [isolates] [per-IP limit]`: the connection
 * places alone, as one address's crowd meets them. Distinct users' claims from one IP go to isolates in turn,
 * each isolate with its own handle on one temp KV file (as the service's workers have); prints claims/s, server
 * CPU per claim, the answers, claim latency, and each isolate's KV calls (`stats()`). No sockets, no HTTP:
 * what the handshake ratio of the one-address workload owes to the places (bench/RESULTS.md).
 */
import process from "node:process";
import type { ClaimResult } from "../lib/connection_places.ts";
import { setUp } from "../lib/place_test_isolates.ts";

const [claims, inFlight, isolateCount, perIp] = [15_000, 256, 2, 20_000].map((fallback, i) =>
  Number(Deno.args[i] ?? fallback)
);
const setup = await setUp(isolateCount, { perUser: 3, perIp });
const answers: Record<string, number> = {};
const latencies: number[] = [];
let next = 0;
const cpuBefore = process.cpuUsage();
const start = performance.now();
await Promise.all(Array.from({ length: inFlight }, async () => {
  while (next < claims) {
    const i = next++;
    const places = setup.isolates[i % isolateCount].places;
    const asked = performance.now();
    const answer: ClaimResult = await places.claim(
      `bench-${i}`,
      `bench-user-${i}`,
      "127.0.0.2",
      Date.now() + 30_000,
    );
    latencies.push(performance.now() - asked);
    answers[answer] = (answers[answer] ?? 0) + 1;
  }
}));
const seconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuBefore);
latencies.sort((a, b) => a - b);
const at = (q: number) => Math.round(latencies[Math.floor((latencies.length - 1) * q)]);
console.log({
  claimsPerSecond: Math.round(claims / seconds),
  cpuUsPerClaim: Math.round((cpu.user + cpu.system) / claims),
  answers,
  latencyMs: { p50: at(0.5), p99: at(0.99) },
  isolates: setup.isolates.map((isolate) => isolate.places.stats()),
});
await setup.close();
