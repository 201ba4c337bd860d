import assert from "node:assert/strict";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError } from "../lib/api_error.ts";
import { createLogger } from "../lib/log.ts";
import type { AppEnv } from "./env.ts";
import { errorHandler } from "./error_handler.ts";
import { requestId } from "./request_id.ts";

/** An app whose `/fail` throws what `thrown()` makes, behind `requestId()`, with the log lines it wrote. */
function appThrowing(thrown: () => Promise<unknown> | unknown) {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger("debug", {}, (line) => lines.push(JSON.parse(line)));
  const app = new Hono<AppEnv>()
    .use(requestId())
    .get("/fail", async () => {
      throw await thrown();
    });
  app.onError(errorHandler(log));
  return { app, lines };
}

async function answer(thrown: () => Promise<unknown> | unknown) {
  const { app, lines } = appThrowing(thrown);
  const res = await app.request("/fail", { headers: { "x-request-id": "req-1" } });
  return { status: res.status, id: res.headers.get("x-request-id"), body: await res.json(), lines };
}

/** An error from a real Deno KV handle that is gone, as when its database file or KV Connect fails. */
async function kvFailure(): Promise<unknown> {
  const kv = await Deno.openKv(":memory:");
  kv.close();
  return await kv.get(["anything"]).then(() => new Error("a closed KV handle answered"), (error) => error);
}

Deno.test("errorHandler() answers an ApiError as it says, issues included, and logs nothing", async () => {
  const issues = [{ path: "type", message: "Unknown notification type" }];
  const { status, id, body, lines } = await answer(() =>
    new ApiError(422, "invalid_event", "Event is invalid", issues)
  );
  assert.equal(status, 422);
  assert.equal(id, "req-1");
  assert.deepEqual(body, { error: { code: "invalid_event", message: "Event is invalid", issues } });
  assert.deepEqual(lines, []);
});

Deno.test("errorHandler() answers another HTTPException as http_error with its status", async () => {
  const { status, body, lines } = await answer(() => new HTTPException(405, { message: "Not here" }));
  assert.equal(status, 405);
  assert.deepEqual(body, { error: { code: "http_error", message: "Not here" } });
  assert.deepEqual(await answer(() => new HTTPException(400)).then((a) => a.body), {
    error: { code: "http_error", message: "Request failed" },
  });
  assert.deepEqual(lines, []);
});

Deno.test("errorHandler() answers an HTTPException that carries its own answer with that answer", async () => {
  const own = Response.json({ error: { code: "unauthorized", message: "No" } }, {
    status: 401,
    headers: { "www-authenticate": 'Bearer realm="x"' },
  });
  const { status, id, body, lines } = await answer(() => new HTTPException(401, { res: own }));
  assert.equal(status, 401);
  assert.equal(id, "req-1");
  assert.deepEqual(body, { error: { code: "unauthorized", message: "No" } });
  assert.deepEqual(lines, []);
});

Deno.test("errorHandler() answers a failed store 503 unavailable with a warning carrying the id", async () => {
  const { status, id, body, lines } = await answer(kvFailure);
  assert.equal(status, 503);
  assert.equal(id, "req-1");
  assert.deepEqual(body, { error: { code: "unavailable", message: "Storage is unavailable; try again" } });
  assert.deepEqual(lines.map(({ level, msg, requestId, path }) => ({ level, msg, requestId, path })), [
    { level: "warn", msg: "Store unavailable", requestId: "req-1", path: "/fail" },
  ]);
});

Deno.test("errorHandler() answers our own fault 500 internal_error; its text goes to the error log only", async () => {
  const { status, id, body, lines } = await answer(() => new TypeError("cannot read secret internals"));
  assert.equal(status, 500);
  assert.equal(id, "req-1");
  assert.deepEqual(body, { error: { code: "internal_error", message: "Something went wrong; try again" } });
  assert.deepEqual(lines.map(({ level, msg, requestId, path }) => ({ level, msg, requestId, path })), [
    { level: "error", msg: "Request failed", requestId: "req-1", path: "/fail" },
  ]);
  assert.deepEqual(lines[0].error, { name: "TypeError", message: "cannot read secret internals" });
});
