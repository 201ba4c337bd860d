import assert from "node:assert/strict";
import { ApiError } from "../lib/api_error.ts";
import { readBodyLimited } from "./body_limit.ts";

const LIMIT = 1000;
const bytes = (n: number, fill = 120) => new Uint8Array(n).fill(fill);

/**
 * A request whose body arrives in `chunks`, then ends or, with `breakOff`, fails as Deno's body stream does
 * when the client goes away mid-body. `pulled` counts the chunks read so far.
 */
function streamedRequest(chunks: Uint8Array[], options: { declared?: number; breakOff?: boolean } = {}) {
  const state = { pulled: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled < chunks.length) controller.enqueue(chunks[state.pulled++]);
      else if (options.breakOff) controller.error(new Deno.errors.BadResource("Cannot read request body"));
      else controller.close();
    },
  }, { highWaterMark: 0 }); // pulled only when read, so `pulled` counts the reads
  const headers: Record<string, string> = options.declared === undefined
    ? {}
    : { "content-length": String(options.declared) };
  const req = new Request("http://localhost/", { method: "POST", body, headers });
  return { req, state };
}

async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
  const error = await promise.then(() => undefined, (error) => error);
  assert.ok(error instanceof ApiError, `expected an ApiError, got ${error}`);
  return { status: error.status, code: error.code };
}

Deno.test("readBodyLimited() answers the whole body, declared or streamed", async () => {
  const declared = streamedRequest([bytes(LIMIT)], { declared: LIMIT });
  assert.deepEqual(await readBodyLimited(declared.req, LIMIT), bytes(LIMIT));
  const { req } = streamedRequest([bytes(300), bytes(300, 121), bytes(400, 122)]);
  assert.deepEqual(
    await readBodyLimited(req, LIMIT),
    new Uint8Array([...bytes(300), ...bytes(300, 121), ...bytes(400, 122)]),
  );
  assert.deepEqual(
    await readBodyLimited(new Request("http://localhost/", { method: "POST" }), LIMIT),
    bytes(0),
  );
});

Deno.test("readBodyLimited() refuses 413 payload_too_large by the declared length, reading nothing", async () => {
  const { req, state } = streamedRequest([bytes(600), bytes(600)], { declared: LIMIT + 1 });
  assert.deepEqual(await refusal(readBodyLimited(req, LIMIT)), { status: 413, code: "payload_too_large" });
  assert.equal(state.pulled, 0);
});

Deno.test("readBodyLimited() refuses 413 as soon as a streamed body passes the limit", async () => {
  const { req, state } = streamedRequest([bytes(600), bytes(600), bytes(600), bytes(600)]);
  assert.deepEqual(await refusal(readBodyLimited(req, LIMIT)), { status: 413, code: "payload_too_large" });
  assert.equal(state.pulled, 2, "read on past the limit");
});

Deno.test("readBodyLimited() answers 400 body_unreadable for a body cut short, declared or streamed", async () => {
  for (const declared of [500, undefined]) {
    const { req } = streamedRequest([bytes(100)], { declared, breakOff: true });
    assert.deepEqual(await refusal(readBodyLimited(req, LIMIT)), { status: 400, code: "body_unreadable" });
  }
});
