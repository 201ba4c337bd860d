/**
 * Isolates for the connection places' tests: several, each with its own handle on one temp KV file (as the
 * workers of `deno task start` have), and what is stored there, read back.
 */
import { idleBeat } from "../tests/helpers/isolate_beat.ts";
import { type ClaimResult, type ConnectionPlaces, createConnectionPlaces } from "./connection_places.ts";
import { createIsolateDirectory } from "./isolates.ts";
import { placeCountKey } from "./keys.ts";
import { openKv } from "./kv.ts";
import { placesTaken } from "./place_counts.ts";

export interface Isolate {
  id: string;
  kv: Deno.Kv;
  places: ConnectionPlaces;
  /** What the isolate was told: warnings logged, and how often its places were found reclaimed. */
  seen: { warnings: string[]; lost: number };
}

export interface Setup {
  isolates: Isolate[];
  /** A handle of the test's own, to look at what is stored. */
  kv: Deno.Kv;
  /**
   * Starts one more isolate on the same file; `clockSkewMs` moves its clock (to make others look stale), and
   * `wrap` puts something between it and its KV handle (after it registered).
   */
  add(clockSkewMs?: number, wrap?: (kv: Deno.Kv) => Deno.Kv): Promise<Isolate>;
  close(): Promise<void>;
}

/** `count` isolates with these limits on a fresh temp KV file, each registered. */
export async function setUp(count: number, limits: { perUser: number; perIp: number }): Promise<Setup> {
  const dir = await Deno.makeTempDir({ prefix: "places_" });
  const path = `${dir}/places.kv`;
  const kv = await openKv(path);
  const isolates: Isolate[] = [];
  async function add(clockSkewMs = 0, wrap?: (kv: Deno.Kv) => Deno.Kv): Promise<Isolate> {
    const now = () => Date.now() + clockSkewMs;
    const id = `isolate-${isolates.length + 1}`;
    const own = await openKv(path);
    const directory = createIsolateDirectory(own, now);
    await directory.beat(idleBeat(id, now()));
    const seen = { warnings: [] as string[], lost: 0 };
    const places = createConnectionPlaces(wrap ? wrap(own) : own, {
      isolateId: id,
      isolates: directory,
      ...limits,
      now,
      log: { warn: (message: string) => seen.warnings.push(message) },
      onLost: () => seen.lost++,
    });
    const isolate: Isolate = { id, kv: own, places, seen };
    await isolate.places.register();
    isolates.push(isolate);
    return isolate;
  }
  for (let i = 0; i < count; i++) await add();
  return {
    isolates,
    kv,
    add,
    async close() {
      for (const isolate of isolates) {
        await isolate.places.close();
        isolate.kv.close();
      }
      kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Every place count and holding stored, as `{key: value}` (counts as numbers). */
export async function stored(kv: Deno.Kv): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const prefix of ["place_counts_by_user", "place_counts_by_ip", "place_holdings_by_holder"]) {
    for await (const entry of kv.list({ prefix: [prefix] })) {
      out[JSON.stringify(entry.key)] = entry.value instanceof Deno.KvU64
        ? Number(entry.value.value)
        : Number(entry.value);
    }
  }
  return out;
}

/** Places taken by one user or IP on every isolate. */
export async function countOf(kv: Deno.Kv, scope: "user" | "ip", subject: string): Promise<number> {
  const [claimed, released] = await kv.getMany([
    placeCountKey(scope, subject, "claimed"),
    placeCountKey(scope, subject, "released"),
  ]);
  return placesTaken(claimed, released);
}

/** A handshake deadline that never passes during a test. */
export const inAMinute = () => Date.now() + 60_000;
/**
 * `count` distinct users behind 10.0.0.1 claiming at once, each claim on the next of `isolates` in turn:
 * socket `<sockets><i>` of user `user-<i>`.
 */
export function claimBurst(isolates: Isolate[], count: number, sockets = "c"): Promise<ClaimResult[]> {
  return Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        isolates[i % isolates.length].places.claim(`${sockets}${i}`, `user-${i}`, "10.0.0.1", inAMinute()),
    ),
  );
}

/** How many claims got each answer. */
export const tally = (results: ClaimResult[]) =>
  results.reduce<Record<string, number>>((t, r) => ({ ...t, [r]: (t[r] ?? 0) + 1 }), {});

/** Polls `read` until `done` holds of its value, at most `ms` (a liveness bound, not a speed target). */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`Still ${JSON.stringify(value)} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
