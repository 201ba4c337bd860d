/**
 * The service's pages over plain HTTP on a real server: the landing page in development and production, the
 * HTML 404 for browsers against the JSON 404 for API clients, the favicon, the `/admin` 401 and 403 pages'
 * dev sign-in offers, and the dev sign-in endpoint's answers to a bad body and an unknown user.
 */
import assert from "node:assert/strict";
import { DEMO_USERS } from "../lib/dev/demo_users.ts";
import { randomUser, startTestServer } from "./helpers/server.ts";

const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { res, text: await res.text() };
}

Deno.test("[http] / is a landing page: dev links demo, admin and health; production says what it is", async (t) => {
  const dev = await startTestServer();
  const production = await startTestServer({ env: { DEMO_USERS: "off" } });
  try {
    await t.step("development", async () => {
      const { res, text } = await get(`${dev.url}/`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
      for (const path of ["/demo", "/admin", "/health"]) assert.match(text, new RegExp(`href="${path}"`));
      assert.match(text, /<link rel="icon" href="\/favicon\.svg"/);
      assert.doesNotMatch(text, /<script/, "a plain page needs no script");
    });
    await t.step("production", async () => {
      const { res, text } = await get(`${production.url}/`);
      assert.equal(res.status, 200);
      assert.match(text, /real-time notification service/);
      assert.match(text, /href="\/health"/);
      assert.doesNotMatch(text, /href="\/demo"/, "no link to a page production does not serve");
    });
  } finally {
    await dev.close();
    await production.close();
  }
});

Deno.test("[http] an unknown path is an HTML 404 for a browser and the JSON 404 for an API client", async (t) => {
  const server = await startTestServer({ env: { DEMO_USERS: "off" } });
  try {
    await t.step("a browser gets a page that names the path and links home", async () => {
      const { res, text } = await get(`${server.url}/no/such/page?x=1`, { accept: BROWSER_ACCEPT });
      assert.equal(res.status, 404);
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(res.headers.get("vary") ?? "", /accept/i);
      assert.match(text, /Page not found/);
      assert.match(text, /<code>\/no\/such\/page<\/code>/);
      assert.match(text, /href="\/"/);
    });
    await t.step("the path is escaped, and cut when very long", async () => {
      const { text } = await get(`${server.url}/%3Cscript%3Ealert(1)%3C/script%3E`, {
        accept: BROWSER_ACCEPT,
      });
      assert.doesNotMatch(text, /<script>alert/);
      const long = await get(`${server.url}/${"a".repeat(5000)}`, { accept: BROWSER_ACCEPT });
      assert.equal(long.res.status, 404);
      assert.ok(long.text.length < 4000, `page of ${long.text.length} characters`);
    });
    await t.step("without Accept: text/html, the JSON error shape", async () => {
      for (const accept of [undefined, "application/json", "*/*"]) {
        const { res, text } = await get(`${server.url}/no/such/page`, accept ? { accept } : {});
        assert.equal(res.status, 404);
        assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
        assert.deepEqual(JSON.parse(text), { error: { code: "not_found", message: "Not found" } });
      }
    });
    await t.step("an API path answers JSON even to a browser; production has no /demo page", async () => {
      for (const path of ["/api/nothing", "/api/dev/session"]) {
        const { res, text } = await get(`${server.url}${path}`, { accept: BROWSER_ACCEPT });
        assert.equal(res.status, 404, path);
        assert.equal(JSON.parse(text).error.code, "not_found");
      }
      const { res, text } = await get(`${server.url}/demo`, { accept: BROWSER_ACCEPT });
      assert.equal(res.status, 404);
      assert.match(text, /Page not found/);
    });
  } finally {
    await server.close();
  }
});

Deno.test("[http] /favicon.svg and /favicon.ico are served, cacheable", async () => {
  const server = await startTestServer();
  try {
    const svg = await get(`${server.url}/favicon.svg`);
    assert.equal(svg.res.status, 200);
    assert.equal(svg.res.headers.get("content-type"), "image/svg+xml");
    assert.match(svg.text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const ico = await fetch(`${server.url}/favicon.ico`);
    assert.equal(ico.status, 200);
    assert.equal(ico.headers.get("content-type"), "image/x-icon");
    assert.match(ico.headers.get("cache-control") ?? "", /max-age=\d+/);
    const bytes = new Uint8Array(await ico.arrayBuffer());
    const view = new DataView(bytes.buffer);
    // ICONDIR: reserved 0, type 1 (icon), one image; its entry points at a PNG.
    assert.deepEqual([view.getUint16(0, true), view.getUint16(2, true), view.getUint16(4, true)], [0, 1, 1]);
    const offset = view.getUint32(18, true);
    assert.deepEqual([...bytes.slice(offset + 1, offset + 4)], [..."PNG"].map((c) => c.charCodeAt(0)));
  } finally {
    await server.close();
  }
});

Deno.test("[http] /admin 401 and 403 pages offer the dev sign-in in development only", async (t) => {
  const dev = await startTestServer();
  const production = await startTestServer({ env: { DEMO_USERS: "off" } });
  const admins = DEMO_USERS.filter((u) => u.role === "admin");
  try {
    const clientCookie = { cookie: `auth_token=${await dev.sessionToken(randomUser("client"))}` };
    await t.step("dev 401: every demo user; dev 403: the admins only, through a script file", async () => {
      const anonymous = await get(`${dev.url}/admin`);
      assert.equal(anonymous.res.status, 401);
      for (const u of DEMO_USERS) assert.match(anonymous.text, new RegExp(`data-user="${u.userId}"`));
      const forbidden = await get(`${dev.url}/admin`, clientCookie);
      assert.equal(forbidden.res.status, 403);
      assert.match(forbidden.text, /Admins only/);
      const offered = [...forbidden.text.matchAll(/data-user="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(offered, admins.map((u) => u.userId));
      assert.match(
        forbidden.text,
        /<script type="module" src="\/islands\/access_notice_entry\.js"><\/script>/,
      );
      assert.doesNotMatch(
        forbidden.text,
        /<script(?! type="(module" src=|application\/json))/,
        "no inline script",
      );
      const script = await fetch(`${dev.url}/islands/access_notice_entry.js`);
      assert.equal(script.status, 200);
      assert.match(await script.text(), /\/api\/dev\/session/);
    });
    await t.step("production: no sign-in, no script", async () => {
      const token = await production.sessionToken(randomUser("client"));
      for (const headers of [{}, { cookie: `auth_token=${token}` }] as Record<string, string>[]) {
        const { res, text } = await get(`${production.url}/admin`, headers);
        assert.ok(res.status === 401 || res.status === 403);
        assert.doesNotMatch(text, /data-user=|<script/);
      }
    });
  } finally {
    await dev.close();
    await production.close();
  }
});
