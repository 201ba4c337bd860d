/**
 * Stream heads: the last `seq` written to each stream. This isolate remembers each head it committed or read,
 * with the versionstamp that proves it, so an append can commit without reading first; and reads of heads for
 * many callers at once go together in one `getMany`.
 */
import type { Stream } from "./keys.ts";
import { streamHeadKey } from "./keys.ts";
import { withKvRetry } from "./kv.ts";
import { GET_MANY_KEYS } from "./kv_get_all.ts";
import type { Positions } from "./notifications.ts";

/** A stream's last seq and the versionstamp of the commit that wrote it: exactly the head key's entry. */
export interface StreamHead {
  seq: number;
  versionstamp: string | null;
}

/** The heads of the streams in `kv`: a cache of known heads, and batched reads. */
export function createStreamHeads(kv: Deno.Kv) {
  /**
   * Each stream's head as this isolate last committed or read it, with the versionstamp that proves it. An
   * append first trusts it, with that versionstamp as its check, and reads only when the check fails (another
   * isolate wrote the stream, or the webhook id is taken): one KV commit per webhook instead of a read and a
   * commit, while the checks keep `seq` gap-free whoever wrote last. Other isolates' commits arrive over the
   * relay (`noteHead`), so isolates that take turns with a stream still commit without a read.
   */
  const known = new Map<Stream, StreamHead>();

  /** The known heads of all these streams, or null when one of them is not known. */
  function knownHeads(streams: Stream[]): StreamHead[] | null {
    return streams.every((stream) => known.has(stream)) ? streams.map((stream) => known.get(stream)!) : null;
  }

  /** Remembers a head this isolate read or committed itself: it is the head key's entry as of then. */
  function remember(stream: Stream, head: StreamHead) {
    known.set(stream, head);
  }

  /**
   * Learns a stream's head from a commit made elsewhere. The pair must be exact (the seq the head key was set
   * to, with that commit's versionstamp): a newer seq replaces an older one, never the other way round.
   */
  function noteHead(stream: Stream, head: StreamHead) {
    if (!Number.isSafeInteger(head.seq) || head.seq < 1 || !/^[0-9a-f]{20}$/.test(head.versionstamp ?? "")) {
      return;
    }
    const current = known.get(stream);
    if (!current || head.seq > current.seq) known.set(stream, head);
  }

  /**
   * Head reads wait while one is in flight and then go together, up to `getMany`'s 10 keys: under a burst
   * of handshakes (every welcome reads its streams' heads, "all" among them) a welcome costs a share of one
   * KV read rather than a read of its own. A read never starts before the calls it answers were made, so it
   * sees every commit that preceded them, as a read of their own would.
   */
  type HeadsRead = { heads: Map<Stream, number> } | { error: unknown };
  const calls: { streams: Stream[]; done: (read: HeadsRead) => void }[] = [];
  let reading = false;

  async function readBatches() {
    reading = true;
    while (calls.length) {
      const keys = new Set(calls[0].streams);
      let n = 1;
      while (n < calls.length && new Set([...keys, ...calls[n].streams]).size <= GET_MANY_KEYS) {
        for (const stream of calls[n++].streams) keys.add(stream);
      }
      const batch = calls.splice(0, n);
      const streams = [...keys];
      let read: HeadsRead;
      try {
        const entries = await withKvRetry(() => kv.getMany<number[]>(streams.map(streamHeadKey)));
        read = { heads: new Map(streams.map((s, i) => [s, entries[i].value ?? 0])) };
      } catch (error) {
        read = { error };
      }
      for (const call of batch) call.done(read);
    }
    reading = false;
  }

  /** The last seq of each stream (0 for an empty one), read no earlier than this call. */
  function heads(streams: Stream[]): Promise<Positions> {
    return new Promise((resolve, reject) => {
      calls.push({
        streams,
        done: (read) =>
          "error" in read
            ? reject(read.error)
            : resolve(Object.fromEntries(streams.map((s) => [s, read.heads.get(s)!]))),
      });
      if (!reading) readBatches();
    });
  }

  return { knownHeads, remember, noteHead, heads };
}

export type StreamHeads = ReturnType<typeof createStreamHeads>;
