import assert from "node:assert/strict";
import { createLogger, redact } from "./log.ts";

Deno.test("redact() hides ?token= values and JWT-shaped strings", () => {
  assert.equal(redact("/ws?token=abc.def.ghi&x=1"), "/ws?token=[redacted]&x=1");
  assert.equal(redact("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig"), "Bearer [redacted]");
});

Deno.test("createLogger() writes JSON lines at or above its level, without secrets", () => {
  const lines: string[] = [];
  const log = createLogger("info", { service: "t" }, (line) => lines.push(line)).with({ connectionId: "c1" });
  log.debug("hidden");
  log.info("Socket open", {
    url: "/ws?token=secret-value",
    authorization: "Bearer x",
    nested: { token: "t" },
  });
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]);
  assert.equal(entry.level, "info");
  assert.equal(entry.connectionId, "c1");
  assert.equal(entry.url, "/ws?token=[redacted]");
  assert.equal(entry.authorization, "[redacted]");
  assert.equal(entry.nested.token, "[redacted]");
  assert.ok(!lines[0].includes("secret-value"));
});
