import assert from "node:assert/strict";

const folder = new URL("./", import.meta.url);
const protocol = new URL("../protocol.ts", import.meta.url).href;
/** What the browser code may load besides its own folder and the protocol module. */
const allowedPackages = /^npm:\/(@preact\/signals|preact)@/;

async function modulesOf(file: URL): Promise<string[]> {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", file.href],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(success, `deno info ${file.pathname}`);
  const info = JSON.parse(new TextDecoder().decode(stdout)) as { modules: { specifier: string }[] };
  return info.modules.map((m) => m.specifier);
}

Deno.test("lib/client imports nothing from the server but the protocol module", async () => {
  const files = [...Deno.readDirSync(folder)]
    .filter((e) => e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts"))
    .map((e) => new URL(e.name, folder));
  assert.ok(files.length > 0);
  for (const file of files) {
    const foreign = (await modulesOf(file)).filter((specifier) =>
      !specifier.startsWith(folder.href) && specifier !== protocol && !allowedPackages.test(specifier)
    );
    assert.deepEqual(foreign, [], `${file.pathname} loads modules outside lib/client`);
  }
});
