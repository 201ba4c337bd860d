import assert from "node:assert/strict";
import { createLogger } from "./log.ts";
import { relayCheck } from "./health.ts";
import type { Relay, RelayEvent } from "./relay.ts";
import { FOREIGN_STORE_MEMORY_MS, withStoreCheck } from "./relay_store.ts";

/** A relay that records what it is asked to publish and lets the test hand events in. */
function loopRelay() {
  const published: RelayEvent[] = [];
  let handler: ((event: RelayEvent) => void) | undefined;
  const relay: Relay = {
    publish(event) {
      published.push(event);
      return Promise.resolve();
    },
    subscribe: (h) => handler = h,
    health: () => ({ name: "loop", healthy: true }),
    close: () => Promise.resolve(),
  };
  return { relay, published, hear: (event: RelayEvent) => handler?.(event) };
}

const disconnect = (origin: string, store?: string): RelayEvent => ({
  kind: "disconnect",
  connectionId: "c1",
  sentAt: 0,
  origin,
  ...(store === undefined ? {} : { store }),
});

Deno.test("withStoreCheck(): events go out with the store id; another store's are refused, logged once", () => {
  const lines: Record<string, unknown>[] = [];
  let clock = 0;
  const inner = loopRelay();
  const relay = withStoreCheck(inner.relay, {
    storeId: "store-a",
    log: createLogger("debug", {}, (line) => lines.push(JSON.parse(line))),
    now: () => clock,
  });
  const heard: RelayEvent[] = [];
  relay.subscribe((event) => heard.push(event));

  relay.publish(disconnect("me"));
  assert.equal(inner.published[0].store, "store-a");

  inner.hear(disconnect("peer-1", "store-a"));
  inner.hear(disconnect("old-peer")); // no store id: a version before the check, during an upgrade
  assert.equal(heard.length, 2);
  assert.equal(relayCheck(relay.health()).status, "pass");

  for (let i = 0; i < 5; i++) inner.hear(disconnect("peer-2", "store-b"));
  assert.equal(heard.length, 2, "nothing from store-b reaches the service");
  assert.equal(lines.length, 1, "one line for the peer, not one per event");
  assert.equal(lines[0].level, "error");
  assert.equal(lines[0].storeId, "store-a");
  assert.equal(lines[0].peerStoreId, "store-b");
  const check = relayCheck(relay.health());
  assert.equal(check.status, "fail");
  assert.match(check.detail ?? "", /store-b.*store-a/);

  clock += FOREIGN_STORE_MEMORY_MS + 1;
  assert.equal(relayCheck(relay.health()).status, "pass", "once the peer is no longer heard, it recovers");
  inner.hear(disconnect("peer-2", "store-b"));
  assert.equal(relayCheck(relay.health()).status, "fail");
  assert.equal(lines.length, 1);
});
