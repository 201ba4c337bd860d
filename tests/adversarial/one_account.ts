/**
 * What the exhaustion tests share: a service seeded with stored announcements, an attacker's socket that keeps
 * only what a test looks at, a neighbour pinging from a process of its own, and the service's log, metrics and
 * KV files read as an operator would (SECURITY.md, "Exhaustion by one client account").
 */
import assert from "node:assert/strict";
import type { Identity } from "../../lib/auth.ts";
import { draftsFor } from "../../lib/events.ts";
import { openKv } from "../../lib/kv.ts";
import { createNotificationStore } from "../../lib/notifications.ts";
import { type ServiceProcess } from "../helpers/process.ts";
import { randomUser, TEST_SESSION_SECRET } from "../helpers/server.ts";
import { signSessionToken } from "../../lib/dev/demo_users.ts";
import { eventually } from "../helpers/eventually.ts";
import { nodeSocket } from "../helpers/node_socket.ts";

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Stores `count` announcements of about 2 KB on `all` straight into the KV file the service will open. */
export async function seedAnnouncements(kvPath: string, count: number) {
  const kv = await openKv(kvPath);
  try {
    const store = createNotificationStore(kv, { ttlMs: 30 * 86_400_000 });
    const message = "Scheduled maintenance of the dashboard. ".repeat(50).slice(0, 2000);
    for (let i = 0; i < count; i += 100) {
      const drafts = Array.from({ length: Math.min(100, count - i) }, (_, j) =>
        draftsFor({
          type: "announcement.published",
          data: { title: `Announcement ${i + j + 1}`, message, priority: "low" },
        })[0]);
      await store.append(drafts);
    }
  } finally {
    kv.close();
  }
}

/**
 * A socket that keeps only what a test looks at: every notification's seq, and every other frame. (Keeping
 * thousands of 2 KB notification frames would measure the test, not the service.)
 */
export function lightSocket(service: ServiceProcess, token: string) {
  const seqs: number[] = [];
  const socket = nodeSocket(service.wsUrl, ["realtime.v1", token], {
    keep(frame) {
      if (typeof frame.seq !== "number") return true;
      seqs.push(frame.seq);
      return false;
    },
  });
  return {
    ...socket,
    seqs,
    /** Every frame that is not a notification. */
    control: socket.frames,
    reply: (id: string, ms = 10_000) =>
      socket.until(() => socket.frames.find((f) => f.data?.replyTo === id), ms, `the reply to ${id}`),
  };
}

export type LightSocket = ReturnType<typeof lightSocket>;

export async function connect(service: ServiceProcess, user: Identity): Promise<LightSocket> {
  const socket = lightSocket(service, await service.socketToken(user));
  await socket.first((f) => f.type === "welcome", 10_000);
  return socket;
}

/**
 * A neighbour pinging every 100 ms from a process of its own (`pinger.ts`), so that its round trips measure
 * the service rather than this test's event loop, busy reading the attack's frames. Resolves once welcomed.
 */
export async function neighbourPinger(service: ServiceProcess, user: Identity) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      new URL("./pinger.ts", import.meta.url).pathname,
      service.wsUrl,
      await service.socketToken(user),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`The pinger ended before it was welcomed: ${text}`);
    text += value;
  }
  let stopped: Promise<{ answered: number; worstMs: number }> | null = null;
  const stop = async () => {
    await child.stdin.close();
    for (let read = await lines.read(); !read.done; read = await lines.read()) text += read.value;
    assert.equal((await child.status).code, 0, text);
    return JSON.parse(text.trim().split("\n").at(-1)!);
  };
  /** Stops the pings (once); resolves with how many were answered and the slowest round trip. */
  return { stop: () => stopped ??= stop() };
}

/** Resolves once the service has written the records of `count` open sockets (a moment after they open). */
export async function recordsWritten(service: ServiceProcess, count: number) {
  const admin = await signSessionToken(TEST_SESSION_SECRET, randomUser("admin"));
  await eventually(
    async () => {
      const listed = await fetch(`${service.url}/api/admin/websocket/connections`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      return (await listed.json()).length === count;
    },
    10_000,
    `${count} connection records`,
  );
}

/** The lines of the service's log at error level. */
export function errorLines(service: ServiceProcess): string[] {
  return service.output().split("\n").filter((line) => /"level":"error"/.test(line));
}

export async function droppedAcks(service: ServiceProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const out: Record<string, number> = { unknown: 0, over_budget: 0, foreign: 0 };
  for (const [, reason, value] of text.matchAll(/^realtime_acks_dropped_total\{reason="(\w+)"\} (\d+)$/gm)) {
    out[reason] = Number(value);
  }
  return out;
}

export async function firstNotificationId(kvPath: string): Promise<string> {
  const kv = await openKv(kvPath);
  try {
    const entry = await kv.get<{ id: string }>(["notifications", "all", 1]);
    return entry.value!.id;
  } finally {
    kv.close();
  }
}
