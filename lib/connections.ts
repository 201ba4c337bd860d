/**
 * Connection records and connection limits in Deno KV, shared by every isolate.
 *
 * Each live socket has a record with `expireIn`, refreshed in batches while it lives. Limits per user and per
 * IP are enforced with one KV value per user and per IP listing their sockets and the isolate holding each;
 * claiming a place is a versionstamp-checked write, so two isolates cannot both take the last place. Places
 * held by an isolate whose heartbeat has stopped are dropped on the next claim, so a crash frees them.
 */
import type { Role } from "./auth.ts";
import {
  connectionCountByIpKey,
  connectionCountByUserKey,
  connectionKey,
  connectionsPrefix,
} from "./keys.ts";
import { commitWithRetry, withKvRetry } from "./kv.ts";
import type { IsolateDirectory } from "./isolates.ts";

/** What is kept of a socket (the seeds' `WebSocketConnectionDetails`, plus where it lives). Never a token. */
export interface ConnectionRecord {
  id: string;
  userId: string;
  userName: string;
  userRole: Role;
  clientIp: string;
  userAgent: string;
  connectedAt: string;
  lastActivity: string;
  messageCount: number;
  isolateId: string;
}

type Places = Record<string, string>;

/** How long record writes gather before their commit; most sockets of a handshake burst are gone by then. */
export const RECORD_WRITE_DELAY_MS = 100;

export type ClaimResult = "ok" | "user_limit" | "ip_limit";

export interface ConnectionRegistryOptions {
  isolateId: string;
  isolates: IsolateDirectory;
  perUser: number;
  perIp: number;
  /** How long a record lives without a refresh. */
  recordTtlMs: number;
}

/** Creates the registry through which this isolate claims places, keeps records, and lists everyone's. */
export function createConnectionRegistry(kv: Deno.Kv, options: ConnectionRegistryOptions) {
  const { isolateId, isolates } = options;

  function prune(places: Places, live: Set<string>): Places {
    return Object.fromEntries(Object.entries(places).filter(([, isolate]) => live.has(isolate)));
  }

  /** Takes a place for this socket under its user's and its IP's limits (0 means no limit). */
  async function claim(connectionId: string, userId: string, ip: string): Promise<ClaimResult> {
    // Without limits there is nothing to count: no read, and no empty commit on every handshake.
    if (options.perUser <= 0 && options.perIp <= 0) return "ok";
    const live = await isolates.liveIds();
    live.add(isolateId);
    const keys = [
      options.perUser > 0 ? connectionCountByUserKey(userId) : null,
      options.perIp > 0 ? connectionCountByIpKey(ip) : null,
    ];
    const limits = [options.perUser, options.perIp];
    return await commitWithRetry<ClaimResult>(async () => {
      const op = kv.atomic();
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        if (!key) continue;
        const entry = await kv.get<Places>(key);
        const places = prune(entry.value ?? {}, live);
        if (Object.keys(places).length >= limits[i]) {
          return { done: i === 0 ? "user_limit" : "ip_limit" };
        }
        places[connectionId] = isolateId;
        op.check(entry).set(key, places);
      }
      return { op, result: "ok" };
    });
  }

  /**
   * Record writes wait a moment, and while a commit is in flight, and then go together in one atomic commit:
   * under a burst of handshakes a socket's record costs a share of one KV write rather than a write of its own
   * (each commit is a SQLite transaction, the main cost of a handshake). The latest intent per socket wins, and
   * a socket that closes before its record was written costs no write at all: nothing was stored, so nothing
   * is deleted; nor is the record even built, since what is queued is how to build it. Records therefore show
   * up to `RECORD_WRITE_DELAY_MS` after the socket opened.
   */
  const pending = new Map<string, (() => ConnectionRecord) | null>();
  /** Sockets whose record is in KV or in the commit in flight: only these need a delete. */
  const stored = new Set<string>();
  let flushing: Promise<void> | null = null;

  async function flush() {
    await new Promise((resolve) => setTimeout(resolve, RECORD_WRITE_DELAY_MS));
    while (pending.size) {
      const batch = [...pending].slice(0, 500);
      const op = kv.atomic();
      for (const [id, record] of batch) {
        pending.delete(id);
        if (record) {
          op.set(connectionKey(id), record(), { expireIn: options.recordTtlMs });
          stored.add(id);
        } else {
          op.delete(connectionKey(id));
          stored.delete(id);
        }
      }
      await withKvRetry(() => op.commit());
    }
  }

  /** Queues record writes; resolves once they (and any queued meanwhile) are committed. */
  function write(entries: Iterable<[string, (() => ConnectionRecord) | null]>): Promise<void> {
    for (const [id, record] of entries) {
      if (record || stored.has(id)) pending.set(id, record);
      else pending.delete(id);
    }
    if (pending.size) flushing ??= flush().finally(() => flushing = null);
    return flushing ?? Promise.resolve();
  }

  /** Gives the socket's places back and deletes its record. */
  async function release(connectionId: string, userId: string, ip: string): Promise<void> {
    // A limit of 0 never claimed a place under its key; no need to read it back.
    const keys = [
      options.perUser > 0 ? connectionCountByUserKey(userId) : null,
      options.perIp > 0 ? connectionCountByIpKey(ip) : null,
    ];
    for (const key of keys) {
      if (!key) continue;
      await commitWithRetry(async () => {
        const entry = await kv.get<Places>(key);
        if (!entry.value || !(connectionId in entry.value)) return { done: undefined };
        const { [connectionId]: _gone, ...rest } = entry.value;
        const op = kv.atomic().check(entry);
        if (Object.keys(rest).length) op.set(key, rest);
        else op.delete(key);
        return { op, result: undefined };
      });
    }
    await write([[connectionId, null]]);
  }

  /** Writes (or refreshes) the records of these sockets, built when their commit is, many per commit. */
  function save(sockets: Iterable<{ id: string; record: () => ConnectionRecord }>): Promise<void> {
    return write([...sockets].map((socket) => [socket.id, socket.record]));
  }

  /** Every live socket's record on every live isolate, oldest connection first. */
  async function list(): Promise<ConnectionRecord[]> {
    const live = await isolates.liveIds();
    live.add(isolateId);
    const out: ConnectionRecord[] = [];
    for await (const entry of kv.list<ConnectionRecord>({ prefix: connectionsPrefix() })) {
      if (live.has(entry.value.isolateId)) out.push(entry.value);
    }
    return out.sort((a, b) => a.connectedAt.localeCompare(b.connectedAt));
  }

  async function get(connectionId: string): Promise<ConnectionRecord | null> {
    const entry = await kv.get<ConnectionRecord>(connectionKey(connectionId));
    if (!entry.value) return null;
    const live = await isolates.liveIds();
    return live.has(entry.value.isolateId) || entry.value.isolateId === isolateId ? entry.value : null;
  }

  return { claim, release, save, list, get };
}

export type ConnectionRegistry = ReturnType<typeof createConnectionRegistry>;
