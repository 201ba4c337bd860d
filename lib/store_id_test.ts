import assert from "node:assert/strict";
import { storeIdKey } from "./keys.ts";
import { openKv } from "./kv.ts";
import { ensureStoreId } from "./store_id.ts";

Deno.test("ensureStoreId(): written once; handles racing on a fresh store agree; another store differs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "store_id_" });
  const handles = await Promise.all([1, 2, 3].map(() => openKv(`${dir}/kv.sqlite`)));
  const other = await openKv(":memory:");
  try {
    const ids = await Promise.all(handles.flatMap((kv) => [ensureStoreId(kv), ensureStoreId(kv)]));
    assert.equal(new Set(ids).size, 1);
    assert.match(ids[0], /^[0-9a-f-]{36}$/);
    assert.equal((await handles[0].get(storeIdKey())).value, ids[0]);
    assert.equal(await ensureStoreId(handles[2]), ids[0]);
    assert.notEqual(await ensureStoreId(other), ids[0]);
  } finally {
    for (const kv of [...handles, other]) kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
