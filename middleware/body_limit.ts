/**
 * Reading a request body without ever holding more than the limit.
 *
 * Not hono's `bodyLimit()`: its `onError` could throw our 413, but a body cut short would surface as the
 * runtime's own error, a 500 logged as our fault. With a declared length it never reads the body (the route's
 * read fails later), and without one it reads the body stream itself, where a client gone mid-body throws. It
 * would also run before the route's own checks (the webhook's headers come first), and with the limit fixed
 * when the routes are built, where ours comes from the service's config.
 */
import { ApiError } from "../lib/api_error.ts";

/**
 * The raw body, or 413 `payload_too_large` as soon as it passes `limit` bytes, or 400 `body_unreadable` when
 * the client goes away mid-body (not a server error: nobody is left to answer, and it must not log as one).
 */
export async function readBodyLimited(req: Request, limit: number): Promise<Uint8Array> {
  const length = req.headers.get("content-length");
  const declared = Number(length ?? "0");
  const tooLarge = () => new ApiError(413, "payload_too_large", `Body is larger than ${limit} bytes`);
  if (declared > limit) throw tooLarge();
  const unreadable = () =>
    new ApiError(400, "body_unreadable", "The request body could not be read to its end");
  // A declared length is enforced by the HTTP layer (the body can be no longer), so the body is taken whole:
  // Deno hands over a small body already buffered, where streaming it costs a reader and a promise a chunk.
  if (length !== null) {
    try {
      return new Uint8Array(await req.arrayBuffer());
    } catch {
      throw unreadable();
    }
  }
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of req.body) {
      size += chunk.length;
      if (size > limit) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw unreadable();
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}
