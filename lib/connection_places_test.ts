/**
 * Connection places on real KV: several "isolates", each with its own handle on one temp KV file (as the
 * workers of `deno task start` have), claiming and releasing at once.
 */
import assert from "node:assert/strict";
import { ISOLATE_STALE_MS } from "./isolates.ts";
import { placeHoldersPrefix } from "./keys.ts";
import { claimBurst, countOf, inAMinute, type Isolate, setUp, stored, tally } from "./place_test_isolates.ts";

Deno.test("connection places: a burst across two handles takes exactly the limit", async (t) => {
  const setup = await setUp(2, { perUser: 3, perIp: 50 });
  const [a, b] = setup.isolates;
  try {
    await t.step("200 users from one IP, half on each isolate, at once: 50 get in", async () => {
      const results = await claimBurst([b, a], 200);
      assert.deepEqual(tally(results), { ok: 50, ip_limit: 150 });
      assert.equal(await countOf(setup.kv, "ip", "10.0.0.1"), 50);
      assert.equal(a.places.heldCount() + b.places.heldCount(), 50);
    });

    await t.step("one user from 20 IPs at once, on both isolates: 3 get in", async () => {
      const results = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) => (i % 2 ? a : b).places.claim(`u${i}`, "busy-user", `10.1.0.${i}`, inAMinute()),
        ),
      );
      assert.deepEqual(tally(results), { ok: 3, user_limit: 17 });
      assert.equal(await countOf(setup.kv, "user", "busy-user"), 3);
    });

    await t.step("the counts are the sums of the holdings", async () => {
      const all = await stored(setup.kv);
      const holdings = Object.entries(all).filter(([k]) => k.startsWith('["place_holdings_by_holder"'));
      const ipShares = holdings.filter(([k]) => k.includes('"ip","10.0.0.1"')).map(([, v]) => v);
      assert.equal(ipShares.reduce((s, v) => s + v, 0), 50);
    });
  } finally {
    await setup.close();
  }
});

Deno.test("connection places: conflicting releases all land, and every place is free again", async () => {
  const setup = await setUp(2, { perUser: 3, perIp: 1000 });
  const [a, b] = setup.isolates;
  try {
    const owners = Array.from({ length: 600 }, (_, i) => (i % 2 ? a : b));
    const results = await Promise.all(
      owners.map((owner, i) =>
        owner.places.claim(`c${i}`, `user-${i % 300}`, `10.0.${i % 3}.1`, inAMinute())
      ),
    );
    assert.deepEqual(tally(results), { ok: 600 });
    // Every socket closes at once, on both isolates: all of them contend on the same three IP counts.
    owners.forEach((owner, i) => owner.places.release(`c${i}`));
    await Promise.all([a.places.settled(), b.places.settled()]);
    assert.deepEqual(await stored(setup.kv), {});
    assert.equal(a.places.heldCount() + b.places.heldCount(), 0);
    // Releasing again (a close after an abandon, say) gives nothing back twice.
    owners.forEach((owner, i) => owner.places.release(`c${i}`));
    await Promise.all([a.places.settled(), b.places.settled()]);
    assert.deepEqual(await stored(setup.kv), {});
    const again = await Promise.all(
      owners.map((owner, i) =>
        owner.places.claim(`d${i}`, `user-${i % 300}`, `10.0.${i % 3}.1`, inAMinute())
      ),
    );
    assert.deepEqual(tally(again), { ok: 600 });
  } finally {
    await setup.close();
  }
});

Deno.test("connection places: claims, releases and tidying racing on one user never let two in", async () => {
  const setup = await setUp(2, { perUser: 1, perIp: 0 });
  let inside = 0;
  let most = 0;
  let granted = 0;
  try {
    // Each isolate takes and gives back the user's one place over and over; between turns the user's counts
    // are idle and get deleted, while the other isolate may be claiming.
    await Promise.all(setup.isolates.map(async (isolate, n) => {
      for (let i = 0; i < 150; i++) {
        if (await isolate.places.claim(`${n}-${i}`, "contended", "10.0.0.1", inAMinute()) !== "ok") continue;
        granted++;
        most = Math.max(most, ++inside);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 2));
        inside--;
        isolate.places.release(`${n}-${i}`);
      }
    }));
    await Promise.all(setup.isolates.map((isolate) => isolate.places.settled()));
    assert.equal(most, 1, "two sockets of a user with a limit of 1 were in at once");
    assert.ok(granted > 0);
    assert.deepEqual(await stored(setup.kv), {});
  } finally {
    await setup.close();
  }
});

Deno.test("connection places: a dead isolate's places come back, reclaimed once by racing janitors", async () => {
  const setup = await setUp(1, { perUser: 3, perIp: 200 });
  const [crashed] = setup.isolates;
  try {
    // 150 users behind one address: 151 holdings, reclaimed over several commits.
    const results = await claimBurst([crashed], 150);
    assert.deepEqual(tally(results), { ok: 150 });
    // Isolates whose clocks run past the crashed one's last heartbeat: to them it is dead.
    const janitors: Isolate[] = [];
    for (let i = 0; i < 3; i++) janitors.push(await setup.add(ISOLATE_STALE_MS + 1000));
    const [b] = janitors;
    assert.equal(await b.places.claim("b0", "user-b", "10.0.0.1", inAMinute()), "ok");
    const found = await Promise.all(janitors.map((j) => j.places.reclaimDead()));
    assert.ok(found.some((n) => n === 1), `janitors found ${found}`);
    assert.deepEqual(await stored(setup.kv), {
      '["place_counts_by_ip","10.0.0.1","claimed"]': 151,
      '["place_counts_by_ip","10.0.0.1","released"]': 150,
      '["place_counts_by_user","user-b","claimed"]': 1,
      [`["place_holdings_by_holder","${b.places.holderId()}","ip","10.0.0.1"]`]: 1,
      [`["place_holdings_by_holder","${b.places.holderId()}","user","user-b"]`]: 1,
    }, "the crashed isolate's places are back, each given back once; its users' counts are gone");
    const holders = [];
    for await (const entry of setup.kv.list({ prefix: placeHoldersPrefix() })) holders.push(entry.key[1]);
    assert.deepEqual(holders.sort(), janitors.map((j) => j.places.holderId()).sort());
    const refill = await claimBurst(janitors, 250, "r");
    assert.deepEqual(tally(refill), { ok: 199, ip_limit: 51 });
  } finally {
    await setup.close();
  }
});

Deno.test("connection places: a release after its places were reclaimed changes no count", async () => {
  const setup = await setUp(1, { perUser: 0, perIp: 50 });
  const [zombie] = setup.isolates;
  try {
    for (let i = 0; i < 10; i++) {
      assert.equal(await zombie.places.claim(`z${i}`, "u", "10.0.0.1", inAMinute()), "ok");
    }
    const janitor = await setup.add(ISOLATE_STALE_MS + 1000);
    for (let i = 0; i < 5; i++) {
      assert.equal(await janitor.places.claim(`j${i}`, "u", "10.0.0.1", inAMinute()), "ok");
    }
    assert.equal(await janitor.places.reclaimDead(), 1);
    assert.equal(await countOf(setup.kv, "ip", "10.0.0.1"), 5);

    // The isolate was alive after all (KV unreachable for a while, say): its releases must not count.
    for (let i = 0; i < 10; i++) zombie.places.release(`z${i}`);
    await zombie.places.settled();
    assert.equal(await countOf(setup.kv, "ip", "10.0.0.1"), 5);
    assert.equal(zombie.seen.lost, 1, "the isolate was told its places are gone");
    assert.equal(zombie.places.heldCount(), 0);
    // It claims again under a fresh holder, counted like anyone's.
    assert.equal(await zombie.places.claim("z-new", "u", "10.0.0.1", inAMinute()), "ok");
    assert.equal(await countOf(setup.kv, "ip", "10.0.0.1"), 6);
    zombie.places.release("z-new");
    await zombie.places.settled();
    assert.equal(await countOf(setup.kv, "ip", "10.0.0.1"), 5);
  } finally {
    await setup.close();
  }
});

Deno.test("connection places: shutting down gives every place back", async () => {
  const setup = await setUp(2, { perUser: 3, perIp: 50 });
  const [leaving, staying] = setup.isolates;
  try {
    for (let i = 0; i < 30; i++) await leaving.places.claim(`c${i}`, `user-${i}`, "10.0.0.1", inAMinute());
    await staying.places.claim("s", "user-s", "10.0.0.1", inAMinute());
    await leaving.places.close();
    assert.equal(await countOf(setup.kv, "ip", "10.0.0.1"), 1);
    assert.equal(await leaving.places.claim("late", "user-late", "10.0.0.1", inAMinute()), "busy");
    const holders = [];
    for await (const entry of setup.kv.list({ prefix: placeHoldersPrefix() })) holders.push(entry.key[1]);
    assert.deepEqual(holders, [staying.places.holderId()]);
  } finally {
    await setup.close();
  }
});

Deno.test("connection places: late and withdrawn claims hold nothing", async () => {
  const setup = await setUp(1, { perUser: 3, perIp: 50 });
  const [isolate] = setup.isolates;
  try {
    assert.equal(await isolate.places.claim("late", "u", "10.0.0.1", Date.now() - 1), "busy");
    // Released (the handshake was given up) before its claim landed: the place, if granted, goes back.
    const withdrawn = isolate.places.claim("gone", "u", "10.0.0.1", inAMinute());
    isolate.places.release("gone");
    assert.equal(await withdrawn, "busy");
    await isolate.places.settled();
    assert.deepEqual(await stored(setup.kv), {});
  } finally {
    await setup.close();
  }
});

Deno.test("connection places: ids too long for a key part are hashed, under KV's 2 KiB key limit", async () => {
  const setup = await setUp(1, { perUser: 1, perIp: 2 });
  const [isolate] = setup.isolates;
  try {
    const user = "u".repeat(10_000);
    const ip = "f".repeat(3000);
    assert.equal(await isolate.places.claim("a", user, ip, inAMinute()), "ok");
    assert.equal(await isolate.places.claim("b", user, ip, inAMinute()), "user_limit");
    assert.equal(await isolate.places.claim("c", `${user}x`, ip, inAMinute()), "ok");
    assert.equal(await isolate.places.claim("d", "short", ip, inAMinute()), "ip_limit");
    isolate.places.release("a");
    isolate.places.release("c");
    await isolate.places.settled();
    assert.deepEqual(await stored(setup.kv), {});
  } finally {
    await setup.close();
  }
});

Deno.test("connection places: without limits, no KV work at all", async () => {
  const setup = await setUp(1, { perUser: 0, perIp: 0 });
  const [isolate] = setup.isolates;
  try {
    for (let i = 0; i < 20; i++) {
      assert.equal(await isolate.places.claim(`c${i}`, "u", "10.0.0.1", inAMinute()), "ok");
    }
    for (let i = 0; i < 20; i++) isolate.places.release(`c${i}`);
    await isolate.places.settled();
    const keys = [];
    for await (const entry of setup.kv.list({ prefix: [] })) keys.push(entry.key[0]);
    assert.deepEqual(keys, ["isolates"], "only the heartbeat is stored");
  } finally {
    await setup.close();
  }
});

/**
 * A KV handle whose commits, once `faulty` is set, fail in turn as a network can fail them: before the commit is
 * sent (nothing landed), after it landed (its answer lost), or not at all.
 */
function lossyKv(kv: Deno.Kv) {
  const state = { faulty: false, commits: 0, lostAnswers: 0 };
  const handle = new Proxy(kv, {
    get(target, property) {
      if (property === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = async () => {
            const turn = state.faulty ? ++state.commits % 3 : 0;
            if (turn === 1) throw new Error("Connection reset before the commit was sent");
            const result = await commit();
            if (turn === 2) {
              state.lostAnswers++;
              throw new Error("Connection reset before the commit's answer arrived");
            }
            return result;
          };
          return op;
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { handle, state };
}

Deno.test("connection places: a commit whose answer was lost counts once, whether it landed or not", async () => {
  const setup = await setUp(0, { perUser: 3, perIp: 20 });
  let faults: ReturnType<typeof lossyKv>["state"] | undefined;
  try {
    const isolate = await setup.add(0, (kv) => {
      const lossy = lossyKv(kv);
      faults = lossy.state;
      return lossy.handle;
    });
    faults!.faulty = true;
    const results = await claimBurst([isolate], 30);
    assert.deepEqual(tally(results), { ok: 20, ip_limit: 10 });
    assert.equal(await countOf(setup.kv, "ip", "10.0.0.1"), 20);
    for (let i = 0; i < 30; i++) isolate.places.release(`c${i}`);
    await isolate.places.settled();
    assert.deepEqual(await stored(setup.kv), {});
    assert.ok(faults!.lostAnswers > 0, "no commit lost its answer: the test tested nothing");
    assert.ok(isolate.seen.warnings.length > 0);
  } finally {
    await setup.close();
  }
});
