/**
 * Standard Webhooks verification: HMAC-SHA256 over `id.timestamp.body`, base64, `v1,` prefix; several
 * signatures per header and several secrets (rotation); compared in constant time; timestamps as digits
 * within the tolerance.
 */
export const TIMESTAMP_TOLERANCE_SECONDS = 300;

export type SignatureVerdict = "ok" | "invalid_signature" | "invalid_timestamp";

const encoder = new TextEncoder();

function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
  const base64 = secret.startsWith("whsec_") ? secret.slice(6) : secret;
  return Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
}

/** Imports the secrets once, so each request only signs. */
export async function importWebhookKeys(secrets: readonly string[]): Promise<CryptoKey[]> {
  return await Promise.all(
    secrets.map((secret) =>
      crypto.subtle.importKey("raw", secretBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
    ),
  );
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function decodeBase64(text: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Signs a payload as Standard Webhooks does: `v1,<base64>`. */
export async function signWebhook(key: CryptoKey, id: string, timestamp: string, body: Uint8Array) {
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const content = new Uint8Array(prefix.length + body.length);
  content.set(prefix);
  content.set(body, prefix.length);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, content));
  return `v1,${btoa(String.fromCharCode(...mac))}`;
}

/** Checks one webhook against every key; `nowSeconds` is injected for tests. */
export async function verifyWebhook(
  keys: CryptoKey[],
  headers: { id: string; timestamp: string; signature: string },
  body: Uint8Array,
  nowSeconds: number,
): Promise<SignatureVerdict> {
  if (!/^\d{1,12}$/.test(headers.timestamp)) return "invalid_timestamp";
  if (Math.abs(nowSeconds - Number(headers.timestamp)) > TIMESTAMP_TOLERANCE_SECONDS) {
    return "invalid_timestamp";
  }
  const offered = headers.signature.split(" ").flatMap((part) => {
    const [version, value] = part.split(",", 2);
    const bytes = version === "v1" && value ? decodeBase64(value) : null;
    return bytes ? [bytes] : [];
  });
  if (!offered.length) return "invalid_signature";
  let match = false;
  for (const key of keys) {
    const expected = decodeBase64((await signWebhook(key, headers.id, headers.timestamp, body)).slice(3))!;
    // Every candidate is compared, so timing does not reveal which secret or signature matched.
    for (const candidate of offered) match = constantTimeEqual(expected, candidate) || match;
  }
  return match ? "ok" : "invalid_signature";
}
