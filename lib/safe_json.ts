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
  let value: unknown;
  try {
    // No reviver: V8 runs a reviver recursively, so a few thousand nested brackets would overflow the stack
    // and be mistaken for a syntax error. JSON.parse itself makes `__proto__` an own key, found below.
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: "syntax" };
  }
  return refusal(value, maxDepth) ?? { ok: true, value };
}

function refusal(root: unknown, maxDepth: number): SafeJsonResult | null {
  // Iterative, so a hostile document cannot overflow the stack here; it stops at the first level too deep.
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== "object") continue;
    if (depth > maxDepth) return { ok: false, reason: "too_deep" };
    if (Object.hasOwn(value, "__proto__")) return { ok: false, reason: "proto_key" };
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return null;
}
