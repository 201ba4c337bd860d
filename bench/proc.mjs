/**
 * What the server costs, read from /proc: resident memory and CPU time (user + system, every thread) of a
 * process and all its descendants. The service's workers (scripts/serve.ts) and bare Deno's (`deno serve
 * --parallel`) are threads of one process, so the tree covers them all.
 */
import { readdirSync, readFileSync } from "node:fs";

const PAGE_BYTES = 4096;
const CLOCK_TICKS = 100; // USER_HZ on Linux

function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses; the fields after its closing ")" are fixed.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return {
      ppid: Number(fields[1]),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
      rssBytes: Number(fields[21]) * PAGE_BYTES,
    };
  } catch {
    return null; // the process ended meanwhile
  }
}

/** RSS (bytes), CPU (seconds) and process count of `rootPid` and its descendants, now. */
export function sampleTree(rootPid) {
  const all = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(name);
    if (s) all.set(Number(name), s);
  }
  const tree = new Set([rootPid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, s] of all) {
      if (!tree.has(pid) && tree.has(s.ppid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let rssBytes = 0;
  let cpuTicks = 0;
  for (const pid of tree) {
    const s = all.get(pid);
    if (!s) continue;
    rssBytes += s.rssBytes;
    cpuTicks += s.cpuTicks;
  }
  return { rssBytes, cpuSeconds: cpuTicks / CLOCK_TICKS, processes: tree.size };
}

/** CPU seconds per thread name across the tree (e.g. the KV thread apart from the JS threads), for tuning. */
export function threadsOf(rootPid) {
  const pids = [rootPid];
  for (const name of readdirSync("/proc")) {
    if (/^\d+$/.test(name) && stat(name)?.ppid === rootPid) pids.push(Number(name));
  }
  const byName = {};
  for (const pid of pids) {
    let tids = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const s = stat(`${pid}/task/${tid}`);
      if (!s) continue;
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim().replace(/\d+$/, "#");
      byName[name] = Math.round(((byName[name] ?? 0) + s.cpuTicks / CLOCK_TICKS) * 100) / 100;
    }
  }
  return byName;
}
