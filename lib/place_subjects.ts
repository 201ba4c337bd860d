/**
 * The subjects of the connection limits: a user (`RATE_LIMIT_PER_USER`) or a client IP (`RATE_LIMIT_PER_IP`),
 * each with the keys of its place counts. A key part must stay well under KV's 2 KiB key limit whatever a
 * token's `sub` or a forwarded address holds, so a long id is replaced by its SHA-256 digest, as bytes: a string
 * id can never equal a digest, since KV compares byte parts and string parts apart.
 */
import { placeCountKey, type PlaceScope, type PlaceSubjectPart } from "./keys.ts";

/** Ids up to this many UTF-8 bytes are their own key part; longer ones are hashed. */
const MAX_SUBJECT_PART_BYTES = 256;

export interface PlaceSubject {
  /** `user:<id>` or `ip:<address>` (`user#<hex digest>` for a long one): the subject's name in memory. */
  readonly id: string;
  readonly scope: PlaceScope;
  readonly part: PlaceSubjectPart;
  /** Its place counts, shared by every isolate: taken = claimed − released. */
  readonly claimedKey: Deno.KvKey;
  readonly releasedKey: Deno.KvKey;
}

/**
 * A subject as three fields, its keys built when a read or a commit asks for them: every socket holding places
 * keeps its subjects, and two key arrays each would be most of what its places cost in memory.
 */
class Subject implements PlaceSubject {
  constructor(readonly id: string, readonly scope: PlaceScope, readonly part: PlaceSubjectPart) {}
  get claimedKey(): Deno.KvKey {
    return placeCountKey(this.scope, this.part, "claimed");
  }
  get releasedKey(): Deno.KvKey {
    return placeCountKey(this.scope, this.part, "released");
  }
}

const encoder = new TextEncoder();

/** The subject counting `value`'s sockets under `scope`'s limit; the same on every isolate. */
export async function placeSubject(scope: PlaceScope, value: string): Promise<PlaceSubject> {
  const bytes = encoder.encode(value);
  if (bytes.length <= MAX_SUBJECT_PART_BYTES) return subjectOf(scope, value);
  return subjectOf(scope, new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/** The subject a holding key (`placeHoldingKey`) counts under, read back from the key's parts. */
export function subjectOfHolding(key: Deno.KvKey): PlaceSubject {
  const [, , scope, part] = key;
  if ((scope !== "user" && scope !== "ip") || !(typeof part === "string" || part instanceof Uint8Array)) {
    throw new Error(`Not a place holding key: ${JSON.stringify(key.slice(0, 3))}`);
  }
  return subjectOf(scope, part);
}

function subjectOf(scope: PlaceScope, part: PlaceSubjectPart): PlaceSubject {
  const id = typeof part === "string"
    ? `${scope}:${part}`
    : `${scope}#${Array.from(part, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  return new Subject(id, scope, part);
}
