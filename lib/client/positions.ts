/** The browser client's per-stream positions: which `seq` it has, and which it is missing. */
/**
 * Per-stream positions with dedup: `position` is the highest seq up to which nothing is missing; seqs seen
 * above it (after a gap) wait in `ahead` until the gap is filled or the server says it is closed.
 */
export function createStreamPositions() {
  const position = new Map<string, number>();
  const ahead = new Map<string, Set<number>>();

  function advance(stream: string) {
    const seen = ahead.get(stream);
    let at = position.get(stream) ?? 0;
    while (seen?.delete(at + 1)) at++;
    position.set(stream, at);
    if (seen) { for (const seq of seen) if (seq <= at) seen.delete(seq); }
  }

  return {
    has: (stream: string) => position.has(stream),
    snapshot: () => Object.fromEntries(position),
    /** "new" (in order), "gap" (new, but something before it is missing) or "duplicate". */
    accept(stream: string, seq: number): "new" | "gap" | "duplicate" {
      const at = position.get(stream) ?? 0;
      const seen = ahead.get(stream);
      if (seq <= at || seen?.has(seq)) return "duplicate";
      if (seq === at + 1) {
        position.set(stream, seq);
        advance(stream);
        return "new";
      }
      if (seen) seen.add(seq);
      else ahead.set(stream, new Set([seq]));
      return "gap";
    },
    /** Takes the server's word that nothing up to these seqs is missing (welcome, resumed). */
    raise(positions: Record<string, number>) {
      for (const [stream, seq] of Object.entries(positions)) {
        if (seq > (position.get(stream) ?? -1)) position.set(stream, seq);
        advance(stream);
      }
    },
    /** The server's streams start lower than ours: its store was reset, so start over from its heads. */
    reset(stream: string, seq: number) {
      position.set(stream, seq);
      ahead.delete(stream);
    },
    get: (stream: string) => position.get(stream),
  };
}
