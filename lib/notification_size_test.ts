import assert from "node:assert/strict";
import { serialize } from "node:v8";
import fc from "fast-check";
import { draftsFor } from "./events.ts";
import { relayLogKey } from "./keys.ts";
import type { NotificationDraft, StoredNotification } from "./notifications.ts";
import {
  assertNotificationsFit,
  KV_VALUE_LIMIT,
  NOTIFICATION_SIZE_LIMIT,
  NotificationTooLargeError,
  serializedSizeBound,
  storedSize,
} from "./notification_size.ts";
import type { RelayEvent } from "./relay.ts";
import { domainEventSchema } from "./schemas.ts";

/** An `admin.alert` whose free-form `data` holds `blob`: the one event whose size no schema bounds. */
const alert = (blob: string): NotificationDraft =>
  draftsFor({
    type: "admin.alert",
    data: { event: "disk_full", message: "Disk almost full", data: { blob }, requiresAction: true },
  })[0];

/** The longest ASCII blob whose alert still fits, found by bisection on the exact size. */
function largestFittingBlob(): number {
  let [low, high] = [0, KV_VALUE_LIMIT];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (storedSize(alert("a".repeat(mid))) <= NOTIFICATION_SIZE_LIMIT) low = mid;
    else high = mid - 1;
  }
  return low;
}

Deno.test("serializedSizeBound() is never below V8's serialisation (property, any string representation)", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.jsonValue(),
        fc.jsonValue({ stringUnit: fc.constantFrom("a", "é", "\u00ff", "\u0100", "😀", "\ud800") }),
      ),
      fc.boolean(),
      (value, twoByte) => {
        // A string sliced from a UTF-16 parent stays UTF-16 in V8 even when its characters are all Latin-1.
        const json = JSON.stringify(value) ?? "null";
        const parsed = twoByte
          ? JSON.parse(`"😀${json.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).slice(2)
          : json;
        for (const v of [value, parsed, { nested: [value, parsed] }]) {
          assert.ok(serializedSizeBound(v) + 2 >= serialize(v).length, JSON.stringify(v).slice(0, 200));
        }
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("storedSize() is what Deno KV counts: the largest fitting notification is stored whole", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const fitting = alert("a".repeat(largestFittingBlob()));
    assert.equal(storedSize(fitting), NOTIFICATION_SIZE_LIMIT);
    const stored: StoredNotification = {
      id: crypto.randomUUID(),
      seq: Number.MAX_SAFE_INTEGER,
      createdAt: new Date(8.64e15).toISOString(),
      ...fitting,
    };
    assert.equal(serialize(stored).length, NOTIFICATION_SIZE_LIMIT);
    // The KV relay's log entry wraps it in an envelope; the reserve leaves room for it (and a store id).
    const event: RelayEvent & { storeId: string } = {
      kind: "notification",
      notification: stored,
      head: { seq: Number.MAX_SAFE_INTEGER, versionstamp: "0".repeat(20) },
      acceptedAt: Date.now() + 0.5,
      sentAt: Date.now() + 0.5,
      origin: crypto.randomUUID(),
      storeId: crypto.randomUUID(),
    };
    assert.ok(serialize(event).length <= KV_VALUE_LIMIT);
    await kv.set(relayLogKey(1), event);
    assert.deepEqual((await kv.get(relayLogKey(1))).value, event);
    // And KV's own limit is the one measured here: 65,536 bytes of V8 serialisation are stored, one more is not.
    const serialised = (bytes: number) => "a".repeat(bytes - 6); // header 2, tag 1, length varint 3
    assert.equal(serialize(serialised(KV_VALUE_LIMIT)).length, KV_VALUE_LIMIT);
    await kv.set(["at_limit"], serialised(KV_VALUE_LIMIT));
    await assert.rejects(() => kv.set(["over"], serialised(KV_VALUE_LIMIT + 1)), /Value too large/);
  } finally {
    kv.close();
  }
});

Deno.test("assertNotificationsFit() refuses what would not fit, counting UTF-16 text two bytes a character", () => {
  const n = largestFittingBlob();
  assertNotificationsFit([alert("a".repeat(n))]);
  assert.throws(() => assertNotificationsFit([alert("a".repeat(n + 1))]), NotificationTooLargeError);
  // 33 KB of ASCII and one emoji: V8 holds the whole string as UTF-16, 66 KB.
  const emoji = alert(`${"a".repeat(33 * 1024)}😀`);
  assert.throws(() => assertNotificationsFit([emoji]), (error: unknown) => {
    assert.ok(error instanceof NotificationTooLargeError);
    assert.ok(error.size > 66_000);
    assert.match(
      error.message,
      /"admin_alert" notification would take \d+ bytes in storage; the limit is 64512/,
    );
    return true;
  });
  // Latin-1 text counts one byte a character; anything above U+00FF, two.
  assertNotificationsFit([alert("é".repeat(60_000))]);
  assert.throws(() => assertNotificationsFit([alert("ā".repeat(33_000))]), NotificationTooLargeError);
  // Every draft of an event is checked, not only the first.
  assert.throws(
    () => assertNotificationsFit([alert("small"), alert("b".repeat(n + 1))]),
    NotificationTooLargeError,
  );
});

Deno.test("every event but admin.alert fits at its schema's largest, in two-byte text", () => {
  const wide = (n: number) => "😀".repeat(n / 2); // n UTF-16 units, none of them Latin-1
  const url = `/${wide(2046)}`;
  const events = [
    {
      type: "project.status_changed",
      data: {
        userId: wide(200),
        projectId: wide(200),
        projectName: wide(200),
        oldStatus: "a".repeat(64),
        newStatus: "b".repeat(64),
        message: wide(2000),
        url,
        updatedBy: wide(200),
      },
    },
    {
      type: "invoice.status_changed",
      data: {
        userId: wide(200),
        invoiceId: wide(200),
        projectId: wide(200),
        projectName: wide(200),
        amount: Number.MAX_VALUE,
        status: "c".repeat(64),
        paidAt: new Date().toISOString(),
      },
    },
    {
      type: "announcement.published",
      data: { title: wide(200), message: wide(2000), priority: "critical", actionUrl: url },
    },
    {
      type: "message.sent",
      data: {
        fromUserId: wide(200),
        fromUserName: wide(200),
        toUserId: wide(200),
        subject: wide(200),
        content: wide(5000),
      },
    },
  ] as const;
  for (const event of events) {
    const drafts = draftsFor(domainEventSchema.parse(event));
    assertNotificationsFit(drafts);
    for (const draft of drafts) assert.ok(storedSize(draft) < NOTIFICATION_SIZE_LIMIT / 2, event.type);
    // The message is stored once: not also in data.
    for (const draft of drafts) if (draft.messageField) assert.equal(draft.messageField in draft.data, false);
  }
});
