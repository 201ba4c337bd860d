/**
 * The development endpoints behind `/demo` and the dev sign-in, on a real server: what a bad body, an unknown
 * user and a sample event answer.
 */
import assert from "node:assert/strict";
import { DEMO_USERS } from "../lib/dev/demo_users.ts";
import { startTestServer } from "./helpers/server.ts";

Deno.test("[http] POST /api/dev/session: 422 with issues for a missing or bad body, 404 for an unknown user", async (t) => {
  const server = await startTestServer();
  const post = async (body?: string) => {
    const res = await fetch(`${server.url}/api/dev/session`, {
      method: "POST",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body,
    });
    return { status: res.status, body: await res.json(), cookie: res.headers.get("set-cookie") };
  };
  try {
    await t.step("no body, not JSON, the wrong shape: 422 invalid_body with issues", async () => {
      for (const body of [undefined, "", "{", "[]", '{"user":"client-budi"}', '{"userId":42}']) {
        const res = await post(body);
        assert.equal(res.status, 422, `body ${body}`);
        assert.equal(res.body.error.code, "invalid_body");
        assert.ok(Array.isArray(res.body.error.issues) && res.body.error.issues.length > 0);
        assert.equal(res.cookie, null);
      }
      const wrongType = await post('{"userId":42}');
      assert.equal(wrongType.body.error.issues[0].path, "userId");
    });
    await t.step("an unknown user: 404 naming it", async () => {
      const res = await post('{"userId":"nobody"}');
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, "not_found");
      assert.equal(res.body.error.message, 'No such demo user "nobody"');
    });
    await t.step("a demo user: 200 with the token, set as the cookie", async () => {
      const res = await post('{"userId":"client-budi"}');
      assert.equal(res.status, 200);
      assert.equal(res.body.user.userId, "client-budi");
      assert.match(res.cookie ?? "", /^auth_token=.+; Path=\/; HttpOnly; SameSite=Lax$/);
    });
    await t.step("the README's curl -d (a form content type, a JSON body) works too", async () => {
      const res = await fetch(`${server.url}/api/dev/session`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: '{"userId":"client-budi"}',
      });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).user.userId, "client-budi");
    });
  } finally {
    await server.close();
  }
});

Deno.test("[http] POST /api/dev/events answers each webhook's own status; a bad kind is 422 with issues", async () => {
  const server = await startTestServer();
  try {
    const admin = DEMO_USERS.find((u) => u.role === "admin")!;
    const headers = {
      "content-type": "application/json",
      authorization: `Bearer ${await server.sessionToken(admin)}`,
    };
    const bad = await fetch(`${server.url}/api/dev/events`, {
      method: "POST",
      headers,
      body: '{"kind":"nope"}',
    });
    assert.equal(bad.status, 422);
    const error = (await bad.json()).error;
    assert.equal(error.code, "invalid_body");
    assert.equal(error.issues[0].path, "kind");
    const res = await fetch(`${server.url}/api/dev/events`, {
      method: "POST",
      headers,
      body: '{"kind":"announcement.published"}',
    });
    assert.equal(res.status, 200);
    const { sent } = await res.json();
    assert.equal(sent.length, 1);
    assert.equal(sent[0].event.type, "announcement.published");
    assert.equal(sent[0].webhook.status, 202, "the webhook's 202, not this endpoint's 200");
    assert.equal(sent[0].webhook.notifications.length, 1);
  } finally {
    await server.close();
  }
});
