/**
 * Browser bundles (islands, the widget, the client) built with `deno bundle` from their entry files, once per
 * process, and kept in memory. `warmBundles()` starts the builds at start-up so the first page is fast.
 */
const cache = new Map<string, Promise<string>>();
const root = new URL("../", import.meta.url);

async function build(entry: string): Promise<string> {
  const out = await Deno.makeTempFile({ suffix: ".js" });
  try {
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "browser", "--minify", "--output", out, entry],
      cwd: root,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`Bundling ${entry} failed: ${new TextDecoder().decode(stderr)}`);
    return await Deno.readTextFile(out);
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

/** The bundled JavaScript of an entry file (a path relative to the project root, e.g. `islands/widget.tsx`). */
export function bundle(entry: string): Promise<string> {
  let built = cache.get(entry);
  if (!built) {
    built = build(entry);
    built.catch(() => cache.delete(entry)); // a failed build is retried on the next request
    cache.set(entry, built);
  }
  return built;
}

/** Starts building these entries in the background. */
export function warmBundles(entries: string[]): void {
  for (const entry of entries) bundle(entry).catch(() => {});
}
