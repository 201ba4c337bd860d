/**
 * fast-check generators of hostile client frames, as JSON text. Objects are serialised by hand so that keys
 * such as `__proto__` reach the wire as own keys (an object literal would turn them into a prototype).
 */
import fc from "fast-check";
import { CLIENT_FRAME_TYPES } from "../../lib/protocol.ts";

/** Keys that have broken JavaScript servers before. */
const hostileKey = fc.constantFrom(
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "__defineGetter__",
  "then",
);
const key = fc.oneof(
  fc.string({ maxLength: 12 }),
  hostileKey,
  fc.constantFrom("type", "data", "id", "types"),
);

/** A JSON tree whose objects are entry lists, so duplicate and hostile keys survive serialisation. */
type Tree = null | boolean | number | string | Tree[] | { entries: Array<[string, Tree]> };

const leaf: fc.Arbitrary<Tree> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-0, Number.MAX_SAFE_INTEGER + 2, 1e308, -1e-308),
  fc.string({ maxLength: 40, unit: "grapheme" }),
  fc.string({ maxLength: 20, unit: "binary" }),
);

const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", maxDepth: 5 },
    leaf,
    fc.array(tie("tree"), { maxLength: 5 }),
    fc.array(fc.tuple(key, tie("tree")), { maxLength: 5 }).map((entries) => ({ entries })),
  ),
}));

export function serialise(value: Tree): string {
  if (Array.isArray(value)) return `[${value.map(serialise).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${serialise(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

const obj = (entries: Array<[string, Tree] | null>): Tree => ({
  entries: entries.filter((e): e is [string, Tree] => e !== null),
});
const optional = (name: string, arb: fc.Arbitrary<Tree>) =>
  fc.option(arb.map((v): [string, Tree] => [name, v]), { nil: null });

/** `data` that nearly fits a frame type's schema: right keys, wrong or extreme values. */
const nearData: fc.Arbitrary<Tree> = fc.oneof(
  fc.array(fc.oneof(fc.constantFrom("project_update", "metrics", "admin_alert"), fc.string()), {
    maxLength: 14,
  }).map((types) => obj([["types", types]])),
  fc.dictionary(fc.oneof(fc.constantFrom("all", "user:x", "role:admin"), key), fc.oneof(fc.integer(), leaf), {
    maxKeys: 20,
  }).map((positions) => obj([["positions", obj(Object.entries(positions))]])),
  fc.array(fc.oneof(fc.string({ maxLength: 250 }), fc.integer()), { maxLength: 600 }).map((ids) =>
    obj([["ids", ids]])
  ),
  fc.record({ toUserId: fc.oneof(fc.constant("admins"), fc.string()), subject: leaf, content: leaf }).map((
    r,
  ) => obj(Object.entries(r))),
  fc.record({ title: leaf, message: leaf, priority: fc.oneof(fc.constantFrom("low", "critical"), leaf) }).map(
    (
      r,
    ) => obj(Object.entries(r)),
  ),
  tree,
);

/** An envelope `{type, id, data, timestamp}` with any part wrong: a type of any kind, ids of any shape. */
const envelope: fc.Arbitrary<string> = fc.tuple(
  fc.oneof(
    fc.constantFrom(...CLIENT_FRAME_TYPES.filter((t) => t !== "auth")),
    fc.string({ maxLength: 80 }),
    hostileKey,
    leaf,
  ),
  optional("id", fc.oneof(fc.string({ maxLength: 120 }), fc.integer(), tree)),
  optional("data", nearData),
  optional("timestamp", leaf),
  optional("__proto__", tree),
).map(([type, ...rest]) => serialise(obj([["type", type], ...rest])));

/** `{type:"ping", data:<nesting of the given depth>}`: deep but small. */
const deep: fc.Arbitrary<string> = fc.tuple(fc.integer({ min: 20, max: 3000 }), fc.boolean()).map((
  [depth, arrays],
) => {
  const [open, close] = arrays ? ["[", "]"] : ['{"a":', "}"];
  return `{"type":"ping","data":${open.repeat(depth)}1${close.repeat(depth)}}`;
});

/** Frames with a string that fills most of the size limit. */
const huge = (limit: number): fc.Arbitrary<string> =>
  fc.tuple(fc.integer({ min: limit / 2, max: limit - 200 }), fc.constantFrom("a", "é", "😀", "\\u0000")).map((
    [length, unit],
  ) => {
    const bytes = new TextEncoder().encode(unit).length;
    return `{"type":"user_message","data":{"toUserId":"admins","subject":"s","content":"${
      unit.repeat(Math.floor(length / bytes / 2))
    }"}}`;
  });

/** Every kind of frame that is valid JSON within `limit` bytes: none of them may close the socket. */
export function keptFrames(limit: number): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: envelope, weight: 6 },
    { arbitrary: fc.json({ maxDepth: 4 }), weight: 2 },
    { arbitrary: deep, weight: 1 },
    { arbitrary: huge(limit), weight: 1 },
  ).filter((text) => new TextEncoder().encode(text).length <= limit && !isValidAuth(text));
}

/** An `auth` frame with a token closes the socket 1008 by design; the token tests cover it. */
function isValidAuth(text: string): boolean {
  try {
    const frame = JSON.parse(text);
    return frame?.type === "auth" && typeof frame?.data?.token === "string";
  } catch {
    return false;
  }
}

/** What the fuzzer knows of the store, so that `resume` and `ack` frames can name real positions and ids. */
export interface StoreFacts {
  /** The attacker's own stream, `user:<id>`. */
  ownStream: string;
  /** Ids of notifications the attacker reads (its own stream and `all`). */
  ownIds: string[];
  /** Ids of other users' notifications (another user's stream, `role:admin`). */
  foreignIds: string[];
}

/** Numbers at and past every edge a position or a count has. */
const extremeNumber: fc.Arbitrary<Tree> = fc.oneof(
  fc.constantFrom(
    0,
    1,
    -1,
    0.5,
    -0.5,
    -0,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER - 1,
    Number.MAX_SAFE_INTEGER + 1,
    2 ** 60,
    1e308,
    -1e308,
    Number.MIN_VALUE,
    Number.MIN_SAFE_INTEGER,
  ),
  fc.nat({ max: 20 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** `resume` with positions at the edges: huge, negative, fractional, 2^53−1, streams of others and none. */
export function extremeResume(facts: StoreFacts): fc.Arbitrary<string> {
  const stream = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(facts.ownStream, "all") },
    { weight: 2, arbitrary: fc.constantFrom("role:admin", "user:someone-else", "user:", "", "ALL") },
    { weight: 1, arbitrary: fc.string({ maxLength: 260 }) },
    { weight: 1, arbitrary: hostileKey },
  );
  const position = fc.oneof({ weight: 4, arbitrary: extremeNumber }, { weight: 1, arbitrary: leaf });
  return fc.tuple(
    // Mostly a few streams, so that many frames pass the schema and reach the head checks; sometimes too many.
    fc.oneof(
      { weight: 4, arbitrary: fc.array(fc.tuple(stream, position), { maxLength: 4 }) },
      { weight: 1, arbitrary: fc.array(fc.tuple(stream, position), { minLength: 15, maxLength: 20 }) },
    ),
    optional("id", fc.oneof(fc.string({ maxLength: 20 }), fc.integer())),
  ).map(([positions, id]) =>
    serialise(obj([["type", "resume"], id, ["data", obj([["positions", obj(positions)]])]]))
  );
}

/** `ack` with the attacker's own ids, other users' ids, made-up, empty, long and non-string ids, many of them. */
export function extremeAck(facts: StoreFacts): fc.Arbitrary<string> {
  const oneId: fc.Arbitrary<Tree> = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...facts.ownIds) },
    { weight: 3, arbitrary: fc.constantFrom(...facts.foreignIds) },
    { weight: 3, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: fc.string({ maxLength: 3 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("a".repeat(199), "b".repeat(200), "c".repeat(201), "d".repeat(5000)),
    },
    { weight: 1, arbitrary: leaf },
  );
  const ids: fc.Arbitrary<Tree> = fc.oneof(
    { weight: 6, arbitrary: fc.array(oneId, { maxLength: 8 }) },
    {
      weight: 1,
      arbitrary: fc.array(fc.string({ minLength: 1, maxLength: 3 }), { minLength: 490, maxLength: 510 }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...facts.ownIds, ...facts.foreignIds).map((id) => Array(500).fill(id)),
    },
    { weight: 1, arbitrary: leaf },
  );
  return fc.tuple(ids, optional("id", fc.string({ maxLength: 20 }))).map(([list, id]) =>
    serialise(obj([["type", "ack"], id, ["data", obj([["ids", list]])]]))
  );
}

/** Every kept frame, with `resume` and `ack` at extreme values among them (about four in ten). */
export function hostileFrames(limit: number, facts: StoreFacts): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: keptFrames(limit), weight: 6 },
    { arbitrary: extremeResume(facts), weight: 2 },
    { arbitrary: extremeAck(facts), weight: 2 },
  ).filter((text) => new TextEncoder().encode(text).length <= limit);
}

/** Text that is not JSON: truncations of real frames, and any string that fails to parse. */
export const notJson: fc.Arbitrary<string> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 200, unit: "grapheme" }),
  envelope.chain((text) =>
    fc.integer({ min: 1, max: Math.max(1, text.length - 1) }).map((n) => text.slice(0, n))
  ),
  fc.constantFrom("{", "[1,]", "{'type':'ping'}", "NaN", "undefined", '{"type":"ping"}garbage', "\u0000"),
).filter((text) => {
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
});

/** Bytes for a binary frame: random, invalid UTF-8, or a perfectly good frame sent as binary. */
export const binaryPayload: fc.Arbitrary<Uint8Array<ArrayBuffer>> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 300 }),
  fc.constantFrom(
    new Uint8Array([0xff, 0xfe, 0xfd]),
    new Uint8Array([0xc0, 0xaf]),
    new Uint8Array([0xed, 0xa0, 0x80]),
    new TextEncoder().encode('{"type":"ping"}'),
  ),
);
