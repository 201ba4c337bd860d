/**
 * Frame rate limiting on its own (the fuzz test raises the limit): past MESSAGE_RATE_PER_MINUTE frames are
 * dropped with `rate_limited`; at twice the rate the socket closes 1008; other sockets, even the same user's,
 * keep their own budget.
 */
import assert from "node:assert/strict";
import { randomUser, startTestServer } from "../helpers/server.ts";
import { connectWelcomed } from "../helpers/socket.ts";

Deno.test("[adversarial] a frame flood is rate limited, then closed, without touching other sockets", async () => {
  const server = await startTestServer({ env: { MESSAGE_RATE_PER_MINUTE: "10" } });
  const user = randomUser();
  try {
    const { socket: flooder } = await connectWelcomed(server.wsUrl, await server.socketToken(user));
    const { socket: sibling } = await connectWelcomed(server.wsUrl, await server.socketToken(user));
    for (let i = 0; i < 20; i++) flooder.send({ type: "ping", id: i });
    const answers = await flooder.collect((f) => f.type === "pong" || f.type === "error", 20);
    assert.deepEqual(answers.filter((f) => f.type === "pong").map((f) => f.data.replyTo), [
      ...Array(10).keys(),
    ]);
    const limited = answers.filter((f) => f.type === "error");
    assert.equal(limited.length, 10);
    assert.ok(limited.every((f) => f.data.code === "rate_limited"));
    // The 21st frame in the minute is twice the limit: the socket is closed. Nothing is sent after it, since
    // Deno resets the connection right after its close frame (SECURITY.md).
    flooder.send({ type: "ping", id: "one-too-many" });
    assert.deepEqual(await flooder.closed, { code: 1008, reason: "Rate limit exceeded" });

    sibling.send({ type: "ping", id: "sibling" });
    assert.equal((await sibling.next("pong")).data.replyTo, "sibling");
    await sibling.close();
  } finally {
    await server.close();
  }
});
