/**
 * Connection records in Deno KV, shared by every isolate: each live socket has a record with `expireIn`,
 * refreshed in batches while it lives, naming the isolate that holds it. (The per-user and per-IP limits are
 * `lib/connection_places.ts`.)
 */
import type { Role } from "./auth.ts";
import { connectionKey, connectionsPrefix, MAX_ID_LENGTH } from "./keys.ts";
import { withKvRetry } from "./kv.ts";
import { createBatchedWrites } from "./batched_writes.ts";
import type { IsolateDirectory } from "./isolates.ts";

/**
 * A socket's record, as the admin API lists it (README, "GET /api/admin/websocket/connections"), plus where
 * it lives. Never a token.
 */
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

/**
 * How long record writes gather before their commit (`lib/batched_writes.ts`); most sockets of a handshake
 * burst are gone by then, and cost no write.
 */
const RECORD_WRITE_DELAY_MS = 100;

export interface ConnectionRegistryOptions {
  isolateId: string;
  isolates: IsolateDirectory;
  /** How long a record lives without a refresh. */
  recordTtlMs: number;
}

/** Creates the registry through which this isolate keeps its sockets' records and lists everyone's. */
export function createConnectionRegistry(kv: Deno.Kv, options: ConnectionRegistryOptions) {
  const { isolateId, isolates } = options;

  // Records show up to RECORD_WRITE_DELAY_MS after their socket opened; a socket gone by then costs no write.
  const writes = createBatchedWrites<ConnectionRecord>({
    gather: () => new Promise((resolve) => setTimeout(resolve, RECORD_WRITE_DELAY_MS)),
    maxBatch: 500,
    async commit({ sets, deletes }) {
      const op = kv.atomic();
      for (const [id, record] of sets) op.set(connectionKey(id), record, { expireIn: options.recordTtlMs });
      for (const id of deletes) op.delete(connectionKey(id));
      await withKvRetry(() => op.commit());
    },
  });

  /** Deletes the socket's record (if it was written; a socket gone within the write delay never was). */
  function remove(connectionId: string): Promise<void> {
    return writes.delete(connectionId);
  }

  /** Writes (or refreshes) the records of these sockets, built when their commit is, many per commit. */
  function save(sockets: Iterable<{ id: string; record: () => ConnectionRecord }>): Promise<void> {
    return writes.set(Array.from(sockets, (socket) => [socket.id, socket.record] as const));
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
    if (connectionId.length > MAX_ID_LENGTH) return null;
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
function connectionRecord(socket: RecordedSocket, isolateId: string): ConnectionRecord {
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
