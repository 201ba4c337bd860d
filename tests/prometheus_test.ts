/**
 * `/metrics` against the real Prometheus tools: `promtool check metrics` finds nothing to lint, and a real
 * Prometheus server, holding METRICS_TOKEN as its scrape credentials, scrapes the service and sees the sockets
 * the test opened.
 */
import assert from "node:assert/strict";
import { eventually } from "./helpers/eventually.ts";
import { ignorePrometheusTests, promtoolCheck, startPrometheus } from "./helpers/prometheus_server.ts";
import { randomUser, startTestServer } from "./helpers/server.ts";
import { connectWelcomed } from "./helpers/socket.ts";

const METRICS_TOKEN = "prometheus-test-token-0123456789";

Deno.test({
  name: "[metrics] promtool lints /metrics clean, and a real Prometheus scrapes it with METRICS_TOKEN",
  ignore: ignorePrometheusTests,
  async fn(t) {
    const server = await startTestServer({ env: { METRICS_TOKEN } });
    const sockets = [];
    try {
      for (const role of ["client", "client", "admin"] as const) {
        sockets.push(await connectWelcomed(server.wsUrl, await server.socketToken(randomUser(role))));
      }

      await t.step("promtool check metrics finds no problem", async () => {
        const res = await fetch(`${server.url}/metrics`, {
          headers: { authorization: `Bearer ${METRICS_TOKEN}` },
        });
        assert.equal(res.status, 200);
        const { code, output } = await promtoolCheck(await res.text());
        assert.equal(output.trim(), "", output);
        assert.equal(code, 0, output);
      });

      await t.step("a Prometheus server scrapes it and counts the sockets by role", async () => {
        const prometheus = await startPrometheus(`127.0.0.1:${server.port}`, METRICS_TOKEN);
        try {
          const clients = await eventually(
            () => prometheus.query('realtime_connections{role="client"}'),
            30_000,
            "Prometheus to scrape the service",
          );
          assert.equal(clients, 2);
          assert.equal(await prometheus.query('realtime_connections{role="admin"}'), 1);
          assert.equal(await prometheus.query('up{job="jasaweb-realtime"}'), 1);
        } finally {
          await prometheus.stop();
        }
      });

      await t.step("without the token Prometheus sees the target down", async () => {
        const prometheus = await startPrometheus(`127.0.0.1:${server.port}`, "not-the-token");
        try {
          const up = await eventually(
            () => prometheus.query('up{job="jasaweb-realtime"}'),
            30_000,
            "Prometheus to try a scrape",
          );
          assert.equal(up, 0);
        } finally {
          await prometheus.stop();
        }
      });
    } finally {
      for (const { socket } of sockets) await socket.close();
      await server.close();
    }
  },
});
