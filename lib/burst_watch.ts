/**
 * When a burst of sockets is over: the moment to give back the memory it left (scripts/memory_release.ts).
 * A burst of handshakes or closes allocates far more than the sockets then keep, in V8's heaps and in the C
 * heap, and both keep what was freed near the burst's high-water mark for a while; released once the burst has
 * settled, it costs one collection and one trim instead of pauses during the burst.
 */

/**
 * Sockets opened or closed, net, since the last release, that make a burst worth releasing after: each
 * worker's collection pauses it (125–300 ms with 5,000 sockets held) and the trim holds each arena's lock
 * while it walks it, and a few hundred sockets' memory is not worth that.
 */
export const BURST_SOCKETS = 2_000;
/** A count that moved less than this since the previous look has not moved: the burst is over. */
const STILL_WITHIN = 50;
/**
 * Looks (seconds) the count must hold still before the release. Much of a burst's native memory is freed only
 * when V8 collects the JavaScript objects that hold it, seconds after the burst: trimmed at the first still
 * second, 8,000 sockets held 25 s after opening took 18.1 KiB each, and 17.2 when trimmed 15 s after.
 */
export const STILL_LOOKS = 15;

/**
 * Decides, from the process's open sockets looked at once a second, when a burst has settled: once the count
 * has moved by `BURST_SOCKETS` since the last release and then held still for `STILL_LOOKS` looks. So it never
 * fires during a burst, and a process whose sockets come and go steadily never fires at all.
 */
export function createBurstWatch() {
  let atLastRelease = 0;
  let previous = 0;
  let stillFor = 0;
  return {
    /** Takes the open-socket count now; true, once, when a burst has just settled. */
    settled(openSockets: number): boolean {
      stillFor = Math.abs(openSockets - previous) < STILL_WITHIN ? stillFor + 1 : 0;
      previous = openSockets;
      if (stillFor < STILL_LOOKS || Math.abs(openSockets - atLastRelease) < BURST_SOCKETS) return false;
      atLastRelease = openSockets;
      return true;
    },
  };
}
