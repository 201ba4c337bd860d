/**
 * Keeping the client's streams whole: its per-stream positions from the welcome and each notification,
 * duplicates dropped by `seq`, and a `resume` after every reconnect and on any `seq` gap — never two in
 * flight, so the server never answers `busy` (a gap seen during a resume is resumed after `resumed`).
 */
import type { StreamPositions } from "../protocol.ts";
import { createStreamPositions } from "./positions.ts";

/** Creates the sync; `sendResume` sends a `resume` frame and says whether the socket took it. */
export function createStreamSync(sendResume: (positions: StreamPositions) => boolean) {
  const positions = createStreamPositions();
  let welcomedOnce = false;
  let inFlight = false;
  /** A gap was seen while a resume ran: resume again once it is done. */
  let wanted = false;

  function requestResume() {
    if (inFlight) {
      wanted = true;
      return;
    }
    if (sendResume(positions.snapshot())) inFlight = true;
  }

  return {
    /** The per-stream positions the next resume will send. */
    snapshot: (): StreamPositions => positions.snapshot(),

    /**
     * Takes a welcome's stream heads. A head below ours means the server's store was reset: start over from
     * it. After a reconnect (any welcome but the first), asks for whatever was published meanwhile.
     */
    welcomed(heads: StreamPositions) {
      const resuming = welcomedOnce;
      for (const [stream, seq] of Object.entries(heads)) {
        const mine = positions.get(stream);
        if (mine === undefined || seq < mine) positions.reset(stream, seq);
      }
      welcomedOnce = true;
      if (resuming) requestResume();
    },

    /** Whether a notification at this position is new (not a duplicate); a gap before it asks for a resume. */
    accept(stream: string, seq: number): boolean {
      const verdict = positions.accept(stream, seq);
      if (verdict === "gap") requestResume();
      return verdict !== "duplicate";
    },

    /** The server's `resumed`: nothing up to its positions is missing. */
    resumed(heads: StreamPositions) {
      inFlight = false;
      positions.raise(heads);
      if (wanted) {
        wanted = false;
        requestResume();
      }
    },

    /** The socket went, and with it any resume in flight. */
    dropped() {
      inFlight = false;
    },
  };
}
