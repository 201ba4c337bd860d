/**
 * Connection records in Deno KV, shared by every isolate: each live socket has a record with `expireIn`,
 * refreshed in batches while it lives, naming the isolate that holds it. (The per-user and per-IP limits are
 * `lib/connection_places.ts`.)
 */
import type { Role } from "./auth.ts";
import { connectionKey, connectionsPrefix } from "./keys.ts";
import { withKvRetry } from "./kv.ts";
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

/** How long record writes gather before their commit; most sockets of a handshake burst are gone by then. */
export const RECORD_WRITE_DELAY_MS = 100;

export interface ConnectionRegistryOptions {
  isolateId: string;
  isolates: IsolateDirectory;
  /** How long a record lives without a refresh. */
  recordTtlMs: number;
}

/** Creates the registry through which this isolate keeps its sockets' records and lists everyone's. */
export function createConnectionRegistry(kv: Deno.Kv, options: ConnectionRegistryOptions) {
  const { isolateId, isolates } = options;

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

  /** Deletes the socket's record (if it was written; a socket gone within the write delay never was). */
  function remove(connectionId: string): Promise<void> {
    return write([[connectionId, null]]);
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

  return { save, remove, list, get };
}

export type ConnectionRegistry = ReturnType<typeof createConnectionRegistry>;

/** What a connection record is made of: a live socket's facts, read when the record is written. */
export interface RecordedSocket {
  readonly id: string;
  readonly identity: { userId: string; name: string; role: Role };
  readonly clientIp: string;
  readonly userAgent: string;
  /** Epoch milliseconds. */
  readonly connectedAt: number;
  readonly lastActivity: number;
  readonly messageCount: number;
}

/** The record of a socket held by this isolate, as the admin API lists it: never its token. */
export function connectionRecord(socket: RecordedSocket, isolateId: string): ConnectionRecord {
  return {
    id: socket.id,
    userId: socket.identity.userId,
    userName: socket.identity.name,
    userRole: socket.identity.role,
    clientIp: socket.clientIp,
    userAgent: socket.userAgent,
    connectedAt: new Date(socket.connectedAt).toISOString(),
    lastActivity: new Date(socket.lastActivity).toISOString(),
    messageCount: socket.messageCount,
    isolateId,
  };
}

/** A socket's entry for `save`: its record is built when (and only if) the batch it is in is written. */
export function recordWrite(socket: RecordedSocket, isolateId: string) {
  return { id: socket.id, record: () => connectionRecord(socket, isolateId) };
}
