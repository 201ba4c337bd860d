/**
 * The isolates alive right now. Each isolate writes a record every `beatMs` with its metrics snapshot and
 * gauges; the record expires by itself, and readers also check its time (KV expiry is lazy), so a crashed
 * isolate drops out of counts and limits within a few seconds.
 */
import { isolateKey, isolatesPrefix } from "./keys.ts";
import type { MetricsSnapshot } from "./metrics.ts";
import { withKvRetry } from "./kv.ts";

export interface IsolateGauges {
  connectionsByRole: { admin: number; client: number };
  /** Frames in and out per second over the last beat. */
  messagesPerSecond: number;
  /** Mean webhook-accepted → frame-handed-out latency (ms) over the last beat. */
  averageLatency: number;
  /** Latency samples (notifications handed out) per second over the last beat: `averageLatency`'s weight. */
  deliveriesPerSecond?: number;
  /** Error frames sent per frame over the last beat. */
  errorRate: number;
  /** The last beats' delivery latency, oldest first: `[mean ms, deliveries]` per beat (`/health` judges this). */
  latencyWindow?: Array<[number, number]>;
  relay: { name: string; healthy: boolean; detail?: string };
  memoryRss: number;
}

export interface IsolateRecord {
  isolateId: string;
  updatedAt: number;
  startedAt: number;
  gauges: IsolateGauges;
  metrics: MetricsSnapshot;
}

export const ISOLATE_BEAT_MS = 1000;
/** A record older than this is a dead isolate's, whatever KV still holds. */
export const ISOLATE_STALE_MS = 5000;
const LIVE_CACHE_MS = 500;

export interface IsolateDirectory {
  /** Ids of every isolate that beat within ISOLATE_STALE_MS. */
  liveIds(): Promise<Set<string>>;
  /** Every live isolate's latest record (each at most ISOLATE_STALE_MS old). */
  records(): Promise<IsolateRecord[]>;
  /**
   * Writes this isolate's record now and reads it back with strong consistency: the KV round trip `/health`
   * times (lib/kv_probe.ts). Throws when KV fails, or reads back another record than it wrote.
   */
  beat(record: Omit<IsolateRecord, "updatedAt">): Promise<void>;
  /** Forgets this isolate (graceful shutdown). */
  leave(isolateId: string): Promise<void>;
}

/** Reads and writes isolate records in KV. */
export function createIsolateDirectory(kv: Deno.Kv, now: () => number = Date.now): IsolateDirectory {
  let cached: { at: number; ids: Set<string> } | undefined;

  async function records(): Promise<IsolateRecord[]> {
    const out: IsolateRecord[] = [];
    for await (const entry of kv.list<IsolateRecord>({ prefix: isolatesPrefix() })) {
      if (now() - entry.value.updatedAt <= ISOLATE_STALE_MS) out.push(entry.value);
    }
    return out;
  }

  return {
    async liveIds() {
      if (cached && now() - cached.at < LIVE_CACHE_MS) return new Set(cached.ids);
      const ids = new Set((await withKvRetry(records)).map((r) => r.isolateId));
      cached = { at: now(), ids };
      return new Set(ids);
    },
    records: () => withKvRetry(records),
    async beat(record) {
      const key = isolateKey(record.isolateId);
      const written = await withKvRetry(() =>
        kv.set(key, { ...record, updatedAt: now() }, { expireIn: ISOLATE_STALE_MS * 2 })
      );
      // Only this isolate writes its record, and its beats never overlap (the probe waits for the one in flight).
      const read = await withKvRetry(() => kv.get(key, { consistency: "strong" }));
      if (read.versionstamp !== written.versionstamp) {
        throw new Error("KV read back another record than it wrote");
      }
    },
    async leave(isolateId) {
      await withKvRetry(() => kv.delete(isolateKey(isolateId)));
    },
  };
}
