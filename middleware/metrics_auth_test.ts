import assert from "node:assert/strict";
import { Hono } from "hono";
import { loadConfig } from "../lib/config.ts";
import { openKv } from "../lib/kv.ts";
import { createLogger } from "../lib/log.ts";
import { createNoRelay } from "../lib/relay.ts";
import { createService } from "../lib/service.ts";
import { type AppEnv, provideService } from "./env.ts";
import { errorHandler } from "./error_handler.ts";
import { metricsAuth } from "./metrics_auth.ts";

/** A real service (not started: its loops are not needed) with `METRICS_TOKEN` as given, in front of a route. */
async function withGuardedRoute(
  metricsToken: string | undefined,
  run: (ask: (authorization?: string) => Promise<Response>) => Promise<void>,
) {
  const config = loadConfig({
    REALTIME_ENV: "test",
    ...(metricsToken ? { METRICS_TOKEN: metricsToken } : {}),
  });
  const kv = await openKv(":memory:");
  try {
    const log = createLogger("error", {}, () => {});
    const service = createService({ config, kv, relay: createNoRelay(), log });
    const app = new Hono<AppEnv>()
      .use(provideService(service))
      .get("/metrics", metricsAuth(config.metricsToken), (c) => c.text("scraped"));
    app.onError(errorHandler(log));
    await run(async (authorization) =>
      await app.request("/metrics", { headers: authorization === undefined ? {} : { authorization } })
    );
  } finally {
    kv.close();
  }
}

Deno.test("metricsAuth() lets every request through while METRICS_TOKEN is unset", async () => {
  await withGuardedRoute(undefined, async (ask) => {
    for (const authorization of [undefined, "Bearer anything", "garbage"]) {
      const res = await ask(authorization);
      assert.equal(res.status, 200, String(authorization));
      assert.equal(await res.text(), "scraped");
    }
  });
});

Deno.test("metricsAuth() reads the Bearer token, whatever the scheme's case", async () => {
  await withGuardedRoute("scrape-secret_0.1~+/==", async (ask) => {
    for (const authorization of ["Bearer scrape-secret_0.1~+/==", "bearer   scrape-secret_0.1~+/=="]) {
      const res = await ask(authorization);
      assert.equal(res.status, 200, authorization);
      assert.equal(await res.text(), "scraped");
    }
  });
});

Deno.test("metricsAuth() gives one 401 answer however the token is missing or wrong", async () => {
  await withGuardedRoute("scrape-secret", async (ask) => {
    const refusals = [
      undefined,
      "",
      "Bearer",
      "Bearer wrong",
      "Bearer scrape-secretx",
      "Bearer scrape",
      "scrape-secret",
      "Basic c2NyYXBl",
      "Bearer scrape secret",
      "Bearer scrape-secret!",
    ];
    for (const authorization of refusals) {
      const res = await ask(authorization);
      const what = JSON.stringify(authorization);
      assert.equal(res.status, 401, what);
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="metrics"', what);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/, what);
      assert.deepEqual(await res.json(), {
        error: { code: "unauthorized", message: "A valid metrics token is required" },
      }, what);
    }
  });
});
