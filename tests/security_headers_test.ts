/**
 * Response headers on the real service: a Content-Security-Policy on pages (no framing, scripts from the
 * service or with the response's nonce), `X-Content-Type-Options: nosniff` everywhere, and the browser
 * scripts still loadable by other sites.
 */
import assert from "node:assert/strict";
import { randomUser, startTestServer } from "./helpers/server.ts";

function directives(csp: string | null): Map<string, string> {
  assert.ok(csp, "a Content-Security-Policy header");
  return new Map(csp.split(";").map((d) => d.trim().split(/\s+(.*)/s).slice(0, 2) as [string, string]));
}

Deno.test("[headers] pages carry CSP (frame-ancestors 'none', nonced inline script); every answer nosniff", async (t) => {
  const server = await startTestServer({ env: { REALTIME_ENV: "development", KV_PATH: ":memory:" } });
  try {
    await t.step(
      "/admin, signed in: no framing, scripts from self, no inline script without the nonce",
      async () => {
        const admin = await server.sessionToken(randomUser("admin"));
        const res = await fetch(`${server.url}/admin`, { headers: { cookie: `auth_token=${admin}` } });
        assert.equal(res.status, 200);
        const html = await res.text();
        const csp = directives(res.headers.get("content-security-policy"));
        assert.equal(csp.get("frame-ancestors"), "'none'");
        assert.match(csp.get("script-src")!, /^'self' 'nonce-[A-Za-z0-9+/=]{16,}'$/);
        assert.equal(csp.get("object-src"), "'none'");
        assert.equal(csp.get("base-uri"), "'none'");
        assert.equal(res.headers.get("x-frame-options"), "DENY");
        assert.equal(res.headers.get("x-content-type-options"), "nosniff");
        // The island's props are a JSON data block and its code an external module: no inline code at all.
        const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
        assert.ok(
          scripts.every((attrs) => /type="application\/json"|src="\/islands\//.test(attrs)),
          scripts.join(),
        );
      },
    );

    await t.step(
      "the 401 page runs no inline script, only the service's own; the nonce is fresh each time",
      async () => {
        const nonces = [];
        for (let i = 0; i < 2; i++) {
          const res = await fetch(`${server.url}/admin`);
          assert.equal(res.status, 401);
          const nonce = /'nonce-([^']+)'/.exec(res.headers.get("content-security-policy") ?? "")?.[1];
          assert.ok(nonce);
          const html = await res.text();
          const scripts = [...html.matchAll(/<script\b([^>]*)>([^<]*)<\/script>/g)];
          assert.ok(scripts.length > 0, "the dev sign-in is a script of the page");
          for (const [, attributes, body] of scripts) {
            const executable = !/type="application\/json"/.test(attributes);
            if (executable) {
              assert.ok(/src="\//.test(attributes) && body === "", `inline script: ${attributes}`);
            }
          }
          assert.equal(
            directives(res.headers.get("content-security-policy")).get("frame-ancestors"),
            "'none'",
          );
          nonces.push(nonce);
        }
        assert.notEqual(nonces[0], nonces[1]);
      },
    );

    await t.step("/demo carries the policy too", async () => {
      const res = await fetch(`${server.url}/demo`);
      await res.body?.cancel();
      assert.equal(directives(res.headers.get("content-security-policy")).get("frame-ancestors"), "'none'");
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    });

    await t.step("JSON answers and errors are nosniff", async () => {
      for (const path of ["/health", "/api/notifications", "/nowhere"]) {
        const res = await fetch(`${server.url}${path}`);
        await res.body?.cancel();
        assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
      }
    });

    await t.step("/widget.js stays loadable by other sites (CORP cross-origin, CORS *)", async () => {
      const res = await fetch(`${server.url}/widget.js`, { headers: { origin: "https://host.example" } });
      await res.body?.cancel();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("cross-origin-resource-policy"), "cross-origin");
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    });
  } finally {
    await server.close();
  }
});
