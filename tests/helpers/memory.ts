/**
 * Resident memory of a service process, read from /proc: the figure an operator's dashboard shows. The
 * process's descendants count too, so the figure holds however the service spreads itself over processes.
 */

/** Resident set size in bytes of `pid` and every process below it (0 for a process that is gone). */
export function processTreeRss(pid: number): number {
  let total = 0;
  const pending = [pid];
  while (pending.length) {
    const current = pending.pop()!;
    try {
      const status = Deno.readTextFileSync(`/proc/${current}/status`);
      total += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
      for (const task of Deno.readDirSync(`/proc/${current}/task`)) {
        const children = Deno.readTextFileSync(`/proc/${current}/task/${task.name}/children`).trim();
        if (children) pending.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // The process (or one of its threads) ended while being read.
    }
  }
  return total;
}

/** Samples `processTreeRss(pid)` every `everyMs` until stopped; `peak` is the largest reading so far. */
export function sampleRss(pid: number, everyMs = 25) {
  let peak = processTreeRss(pid);
  const timer = setInterval(() => peak = Math.max(peak, processTreeRss(pid)), everyMs);
  return {
    get peak() {
      return peak;
    },
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, processTreeRss(pid));
      return peak;
    },
  };
}

/** Bytes held by every file in a directory (a KV database with its write-ahead log). */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isFile) total += Deno.statSync(`${dir}/${entry.name}`).size;
  }
  return total;
}

export const MiB = 1024 * 1024;
