import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "./config.ts";

const productionSecrets = {
  REALTIME_ENV: "production",
  SESSION_JWT_SECRET: "s".repeat(40),
  WS_TOKEN_SECRET: "w".repeat(40),
  WEBHOOK_SECRETS: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  ALLOWED_ORIGINS: "https://jasaweb.example",
};

Deno.test("loadConfig() works in development with nothing set, generating secrets", () => {
  const config = loadConfig({});
  assert.equal(config.env, "development");
  assert.equal(config.port, 8000);
  assert.equal(config.kvPath, ".data/realtime.kv");
  assert.ok(config.wsTokenSecret.length >= 32);
  assert.ok(config.session.secret);
  assert.match(config.webhookSecrets[0], /^whsec_/);
  assert.deepEqual(config.allowedOrigins, [
    "http://localhost:8000",
    "http://127.0.0.1:8000",
    "http://[::1]:8000",
  ]);
  assert.deepEqual(config.hosts, ["127.0.0.1", "::1"]);
  assert.equal(config.workers, navigator.hardwareConcurrency);
  assert.equal(config.demo, true);
  assert.equal(config.relay, "broadcast");
  assert.ok(Object.isFrozen(config));
});

Deno.test("loadConfig() takes tests' KV in memory and parses lists and numbers", () => {
  const config = loadConfig({
    REALTIME_ENV: "test",
    WEBHOOK_SECRETS: "whsec_YWFh, whsec_YmJi whsec_Y2Nj",
    TRUSTED_PROXIES: "10.0.0.1,10.0.0.2",
    MAX_CONNECTIONS: "5000",
    NOTIFICATION_TTL_DAYS: "1",
  });
  assert.equal(config.kvPath, ":memory:");
  assert.deepEqual(config.webhookSecrets, ["whsec_YWFh", "whsec_YmJi", "whsec_Y2Nj"]);
  assert.deepEqual(config.trustedProxies, ["10.0.0.1", "10.0.0.2"]);
  assert.equal(config.maxConnections, 5000);
  assert.equal(config.notificationTtlMs, 86_400_000);
});

Deno.test("loadConfig() names every bad variable, one line each", () => {
  assert.throws(
    () =>
      loadConfig({
        PORT: "eighty",
        RELAY: "carrier-pigeon",
        WS_TOKEN_SECRET: "short",
        MAX_CONNECTIONS: "-1",
      }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      const names = error.problems.map((p) => p.split(":")[0]).sort();
      assert.deepEqual(names, ["MAX_CONNECTIONS", "PORT", "RELAY", "WS_TOKEN_SECRET"]);
      assert.equal(error.message.split("\n").length, 5);
      return true;
    },
  );
});

Deno.test("loadConfig() in production refuses to start without its secrets", () => {
  assert.throws(() => loadConfig({ REALTIME_ENV: "production" }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    const names = error.problems.map((p) => p.split(":")[0]);
    for (const name of ["SESSION_JWT_SECRET", "WS_TOKEN_SECRET", "WEBHOOK_SECRETS", "ALLOWED_ORIGINS"]) {
      assert.ok(names.includes(name), name);
    }
    return true;
  });
  const config = loadConfig(productionSecrets);
  assert.equal(config.demo, false);
  assert.equal(config.session.secret, productionSecrets.SESSION_JWT_SECRET);
  assert.throws(() => loadConfig({ ...productionSecrets, DEMO_USERS: "on" }), ConfigError);
});

Deno.test("loadConfig() listens on loopback in development and on every IPv4 interface in production", () => {
  assert.deepEqual(loadConfig({ PORT: "9000" }).allowedOrigins, [
    "http://localhost:9000",
    "http://127.0.0.1:9000",
    "http://[::1]:9000",
  ]);
  assert.deepEqual(loadConfig(productionSecrets).hosts, ["0.0.0.0"]);
  assert.deepEqual(loadConfig({ HOST: "[::1], 192.168.1.10,::1" }).hosts, ["::1", "192.168.1.10"]);
  assert.deepEqual(loadConfig({ ...productionSecrets, HOST: "0.0.0.0,::1", WORKERS: "3" }).hosts, [
    "0.0.0.0",
    "::1",
  ]);
  assert.equal(loadConfig({ WORKERS: "3" }).workers, 3);
});

Deno.test("loadConfig() refuses a HOST that is not a list of IP addresses, or that would clash with itself", () => {
  for (const HOST of ["localhost", "example.com", "127.0.0.1:8000", ",", "0.0.0.0,127.0.0.1", "::,::1"]) {
    assert.throws(() => loadConfig({ HOST }), (error: unknown) => {
      assert.ok(error instanceof ConfigError, HOST);
      assert.equal(error.problems.length, 1, HOST);
      assert.match(error.problems[0], /^HOST: /, HOST);
      return true;
    });
  }
  assert.throws(() => loadConfig({ WORKERS: "0" }), ConfigError);
});

Deno.test("loadConfig() takes addresses and CIDR ranges in TRUSTED_PROXIES and names the bad entries", () => {
  const config = loadConfig({ REALTIME_ENV: "test", TRUSTED_PROXIES: "10.0.0.0/8, 2001:db8::/32 ::1" });
  assert.deepEqual(config.trustedProxies, ["10.0.0.0/8", "2001:db8::/32", "::1"]);
  assert.throws(
    () => loadConfig({ REALTIME_ENV: "test", TRUSTED_PROXIES: "10.0.0.1, proxy.internal, 10.0.0.0/33" }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems, [
        "TRUSTED_PROXIES: not an IP address or CIDR range: proxy.internal, 10.0.0.0/33",
      ]);
      return true;
    },
  );
});

Deno.test("loadConfig() caps MESSAGE_SIZE_LIMIT at Deno KV's value limit", () => {
  assert.equal(loadConfig({ REALTIME_ENV: "test", MESSAGE_SIZE_LIMIT: "65536" }).messageSizeLimit, 65536);
  assert.throws(() => loadConfig({ REALTIME_ENV: "test", MESSAGE_SIZE_LIMIT: "65537" }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems, [
      "MESSAGE_SIZE_LIMIT: must be at most 65536 (Deno KV's value limit; a notification is stored as one value)",
    ]);
    return true;
  });
});

Deno.test("loadConfig() takes a METRICS_TOKEN only in the bearer token grammar", () => {
  for (const token of ["scrape-secret", "a", "b64+/token_0.1~==", "x".repeat(200)]) {
    assert.equal(loadConfig({ METRICS_TOKEN: token }).metricsToken, token);
  }
  assert.equal(loadConfig({ METRICS_TOKEN: "" }).metricsToken, undefined); // empty is unset, as everywhere
  for (const token of ["two words", "secret!", "=", "tok=en", "caf\u00e9"]) {
    assert.throws(
      () => loadConfig({ METRICS_TOKEN: token }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems.map((p) => p.split(":")[0]), ["METRICS_TOKEN"], token);
        return true;
      },
    );
  }
});
