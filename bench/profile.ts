/**
 * CPU profiling of a target through the V8 inspector (`deno serve` has no `--cpu-prof`): `deno task bench
 * --profile --only=service` runs the service on one worker with `--inspect`, samples it while the load
 * generator runs, writes `bench/profiles/<target>.cpuprofile` (open it in Chrome DevTools) and prints the
 * functions with the most self time.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface Profiler {
  /** Stops sampling, writes the profile and prints the top functions by self time. */
  finish(file: string): Promise<void>;
}

/** Attaches to the inspector on `port` and starts sampling every 100 µs. */
export async function startProfiler(port: number): Promise<Profiler> {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let nextId = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    waiting.get(message.id)?.(message.result);
  };
  const call = (method: string, params = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++nextId;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 100 });
  await call("Profiler.start");
  return {
    async finish(file) {
      const { profile } = await call("Profiler.stop") as { profile: { nodes: ProfileNode[] } };
      ws.close();
      await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(file, JSON.stringify(profile));
      const self = new Map<string, number>();
      let total = 0;
      for (const node of profile.nodes) {
        const { functionName, url, lineNumber } = node.callFrame;
        const where = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${
          lineNumber + 1
        }`;
        self.set(where, (self.get(where) ?? 0) + (node.hitCount ?? 0));
        total += node.hitCount ?? 0;
      }
      console.log(`\nTop self time (${file}):`);
      for (const [where, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
        console.log(`  ${(hits / total * 100).toFixed(1).padStart(5)}%  ${where}`);
      }
    },
  };
}
