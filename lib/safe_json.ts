/**
 * JSON parsing for untrusted input: rejects `__proto__` keys (prototype pollution) and nesting deeper than
 * `maxDepth`, so nothing downstream ever sees such a value.
 */
export const MAX_JSON_DEPTH = 32;

export type SafeJsonResult =
  | { ok: true; value: unknown }
  | { ok: false; reason: "syntax" | "proto_key" | "too_deep" };

/** Parses `text`; `syntax` for JSON that does not parse, `proto_key`/`too_deep` for JSON that is refused. */
export function parseSafeJson(text: string, maxDepth = MAX_JSON_DEPTH): SafeJsonResult {
  let protoKey = false;
  let value: unknown;
  try {
    value = JSON.parse(text, function (key, v) {
      if (key === "__proto__") protoKey = true;
      return v;
    });
  } catch {
    return { ok: false, reason: "syntax" };
  }
  if (protoKey) return { ok: false, reason: "proto_key" };
  if (depthExceeds(value, maxDepth)) return { ok: false, reason: "too_deep" };
  return { ok: true, value };
}

function depthExceeds(root: unknown, maxDepth: number): boolean {
  // Iterative, so a hostile document cannot overflow the stack here.
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== "object") continue;
    if (depth > maxDepth) return true;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return false;
}
