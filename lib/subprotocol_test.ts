import assert from "node:assert/strict";
import { handshakeToken } from "./subprotocol.ts";

/** The subprotocol on the wire. */
const PROTOCOL = "realtime.v1";

const URL_PLAIN = "http://127.0.0.1:8000/ws";

Deno.test("handshakeToken(): realtime.v1 beside a token selects realtime.v1, in either order, with or without spaces", () => {
  for (const header of ["realtime.v1, tok", "realtime.v1,tok", "tok, realtime.v1", " realtime.v1 ,  tok "]) {
    assert.deepEqual(handshakeToken(header, URL_PLAIN), { token: "tok", protocol: PROTOCOL }, header);
  }
});

Deno.test("handshakeToken(): a lone token is the token and the protocol echoed back", () => {
  assert.deepEqual(handshakeToken("tok", URL_PLAIN), { token: "tok", protocol: "tok" });
  assert.deepEqual(handshakeToken("tok, other", URL_PLAIN), { token: "tok", protocol: "tok" });
});

Deno.test("handshakeToken(): realtime.v1 alone selects it and carries no token, not even one in the URL", () => {
  assert.deepEqual(handshakeToken("realtime.v1", `${URL_PLAIN}?token=from-url`), {
    token: undefined,
    protocol: PROTOCOL,
  });
});

Deno.test("handshakeToken(): without a subprotocol the token is ?token=, and no protocol is answered", () => {
  assert.deepEqual(handshakeToken(null, `${URL_PLAIN}?token=from-url`), { token: "from-url" });
  assert.deepEqual(handshakeToken("", `${URL_PLAIN}?token=from-url`), { token: "from-url" });
  assert.deepEqual(handshakeToken(" , ,", `${URL_PLAIN}?token=from-url`), { token: "from-url" });
  assert.deepEqual(handshakeToken(null, URL_PLAIN), { token: undefined });
});

Deno.test("handshakeToken(): a header token wins over ?token=", () => {
  assert.deepEqual(handshakeToken("realtime.v1, tok", `${URL_PLAIN}?token=from-url`), {
    token: "tok",
    protocol: PROTOCOL,
  });
  assert.deepEqual(handshakeToken("tok", `${URL_PLAIN}?token=from-url`), { token: "tok", protocol: "tok" });
});
