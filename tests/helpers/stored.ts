/** Fills a notification store directly, for tests that need thousands stored (webhooks would be slow). */
import type { Stream } from "../../lib/keys.ts";
import type { NotificationStore } from "../../lib/notifications.ts";

/** Appends `count` notifications to `stream`, 300 a commit (KV allows 1000 mutations a commit); their ids. */
export async function fillStream(store: NotificationStore, stream: Stream, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 300) {
    const drafts = Array.from({ length: Math.min(300, count - i) }, (_, j) => ({
      stream,
      type: stream === "all" ? "system_announcement" as const : "user_message" as const,
      title: `Notification ${i + j + 1}`,
      message: "m",
      data: { n: i + j + 1 },
    }));
    ids.push(...(await store.append(drafts)).notifications.map((n) => n.id));
  }
  return ids;
}
