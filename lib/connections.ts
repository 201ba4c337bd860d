/**
 * Connection records in Deno KV, shared by every isolate: each live socket has a record with `expireIn`,
 * refreshed in batches while it lives, naming the isolate that holds it. (The per-user and per-IP limits are
 * `lib/connection_places.ts`.)
 *
 * A refresh rewrites only the records that are due: those whose socket received frames since its record was
 * built (its `lastActivity` and `messageCount` moved), and those half-way to expiring. A socket that only
 * answers pings costs a write every half lifetime rather than every heartbeat; a lifetime of minutes is safe
 * because `list()` and `get()` never trust a record for liveness: they drop those of isolates without a recent
 * heartbeat, so a crashed isolate's sockets vanish within seconds and its records from KV within a lifetime.
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
  now?: () => number;
}

/** Creates the registry through which this isolate keeps its sockets' records and lists everyone's. */
export function createConnectionRegistry(kv: Deno.Kv, options: ConnectionRegistryOptions) {
  const { isolateId, isolates, recordTtlMs } = options;
  const now = options.now ?? Date.now;

  // Records show up to RECORD_WRITE_DELAY_MS after their socket opened; a socket gone by then costs no write.
  const writes = createBatchedWrites<ConnectionRecord>({
    gather: () => new Promise((resolve) => setTimeout(resolve, RECORD_WRITE_DELAY_MS)),
    maxBatch: 500,
    async commit({ sets, deletes }) {
      const op = kv.atomic();
      for (const [id, record] of sets) op.set(connectionKey(id), record, { expireIn: recordTtlMs });
      for (const id of deletes) op.delete(connectionKey(id));
      await withKvRetry(() => op.commit());
    },
  });

  /** Deletes the socket's record (if it was written; a socket gone within the write delay never was). */
  function remove(connectionId: string): Promise<void> {
    return writes.delete(connectionId);
  }

  /** Writes (or rewrites) the records of these sockets, each built when its commit is, many per commit. */
  function save(sockets: readonly RecordedSocket[]): Promise<void> {
    const build = (socket: RecordedSocket) => () => connectionRecord(socket, isolateId, now());
    return writes.set(sockets.map((socket) => [socket.id, build(socket)] as const)).catch((error) => {
      // Built but maybe never stored: due again at the next refresh, not half a lifetime on.
      for (const socket of sockets) socket.recordBuiltAt = 0;
      throw error;
    });
  }

  /** Rewrites the records of these sockets that are due (see above); called once a heartbeat. */
  function refresh(sockets: Iterable<RecordedSocket>): Promise<void> {
    const at = now();
    const due: RecordedSocket[] = [];
    for (const socket of sockets) {
      const changed = socket.messageCount !== socket.recordBuiltCount;
      if (changed || at - socket.recordBuiltAt >= recordTtlMs / 2) due.push(socket);
    }
    return save(due);
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

  return { save, refresh, remove, list, get };
}

export type ConnectionRegistry = ReturnType<typeof createConnectionRegistry>;

/**
 * What a socket's record was last built from, noted on the socket itself by the registry: two numbers on an
 * object every socket has anyway, rather than an entry of a map of its own.
 */
export interface RecordMark {
  /** When its record was last built (epoch milliseconds); 0 before the first. */
  recordBuiltAt: number;
  /** Its `messageCount` then; -1 before the first. */
  recordBuiltCount: number;
}

/** What a connection record is made of: a live socket's facts, read when the record is written. */
export interface RecordedSocket extends RecordMark {
  readonly id: string;
  readonly identity: { userId: string; name: string; role: Role };
  readonly clientIp: string;
  readonly userAgent: string;
  /** Epoch milliseconds. */
  readonly connectedAt: number;
  readonly lastActivity: number;
  readonly messageCount: number;
}

/**
 * The record of a socket held by this isolate, as the admin API lists it: never its token. Notes on the socket
 * what it was built from, for `refresh`.
 */
function connectionRecord(socket: RecordedSocket, isolateId: string, at: number): ConnectionRecord {
  socket.recordBuiltAt = at;
  socket.recordBuiltCount = socket.messageCount;
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
