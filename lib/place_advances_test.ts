/**
 * Places taken ahead: what one batch does to a subject (pure), and on real KV with two handles, bursts under a
 * high limit that stay exact while no isolate reads the address's count for most of its handshakes.
 */
import assert from "node:assert/strict";
import { ADVANCE_HEADROOM, ADVANCE_PLACES, ADVANCE_TTL_MS, createAdvances } from "./place_advances.ts";
import { placeSubject } from "./place_subjects.ts";
import { claimBurst, countOf, eventually, inAMinute, setUp, stored, tally } from "./place_test_isolates.ts";

const ip = await placeSubject("ip", "10.0.0.1");
const tallyOf = (granted: number, released = 0) => ({ subject: ip, granted, released });

Deno.test("places ahead: a burst read with room to spare takes more; grants come out of them first", () => {
  let t = 0;
  const advances = createAdvances({ user: 3, ip: 20_000 }, () => t);
  const first = advances.plan(tallyOf(40), 0, false);
  assert.deepEqual(first, { subject: ip, claimed: 40 + ADVANCE_PLACES, released: 0, ahead: ADVANCE_PLACES });
  advances.apply([first]);
  // Covered by what is held ahead: nothing read, nothing written.
  const covered = advances.plan(tallyOf(100), null, false);
  assert.deepEqual(covered, { subject: ip, claimed: 0, released: 0, ahead: ADVANCE_PLACES - 100 });
  advances.apply([covered]);
  assert.equal(advances.places(ip.id), ADVANCE_PLACES - 100);
  // Past them: the rest from `claimed`, and as many ahead again.
  const more = advances.plan(tallyOf(200), 40 + ADVANCE_PLACES, false);
  assert.deepEqual(more, {
    subject: ip,
    claimed: 200 - (ADVANCE_PLACES - 100) + ADVANCE_PLACES,
    released: 0,
    ahead: ADVANCE_PLACES,
  });
  // A release and a grant in one batch cancel out.
  assert.deepEqual(advances.plan(tallyOf(3, 5), null, false), {
    subject: ip,
    claimed: 0,
    released: 2,
    ahead: ADVANCE_PLACES - 100,
  });
  t += 1;
  assert.deepEqual(advances.due(10), []);
});

Deno.test("places ahead: none below a burst, none that would leave less than the headroom free", () => {
  const advances = createAdvances({ user: 3, ip: 1500 }, () => 0);
  assert.equal(advances.plan(tallyOf(7), 0, false).ahead, 0, "seven claims are no burst");
  // 1,500 − 200 − 20 = 1,280 free: only what keeps ADVANCE_HEADROOM free is taken ahead.
  assert.equal(advances.plan(tallyOf(20), 200, false).ahead, 1500 - 220 - ADVANCE_HEADROOM);
  assert.equal(advances.plan(tallyOf(20), 500, false).ahead, 0);
  assert.equal(createAdvances({ user: 3, ip: ADVANCE_HEADROOM }, () => 0).possible(ip), false);
  assert.equal(advances.possible(ip), true);
});

Deno.test("places ahead: what is left goes back once due", () => {
  let t = 0;
  const advances = createAdvances({ user: 3, ip: 20_000 }, () => t);
  advances.apply([advances.plan(tallyOf(10), 0, false)]);
  assert.equal(advances.nextDue(), ADVANCE_TTL_MS);
  t = ADVANCE_TTL_MS;
  assert.deepEqual(advances.due(10), [ip]);
  const back = advances.plan(tallyOf(4), null, true);
  assert.deepEqual(back, { subject: ip, claimed: 0, released: ADVANCE_PLACES - 4, ahead: 0 });
  advances.apply([back]);
  assert.equal(advances.places(ip.id), 0);
  assert.equal(advances.nextDue(), null);
});

Deno.test("places ahead: a burst under a high limit reads the address's count only to take more", async () => {
  const setup = await setUp(1, { perUser: 3, perIp: 20_000 });
  const [isolate] = setup.isolates;
  try {
    const results = await claimBurst([isolate], 600);
    assert.deepEqual(tally(results), { ok: 600 });
    const { reads, commits } = isolate.places.stats();
    assert.ok(reads < commits, `${reads} reads for ${commits} commits: every batch read the address's count`);
    // What was held ahead goes back by itself: only the sockets' places stay taken.
    await eventually(() => countOf(setup.kv, "ip", "10.0.0.1"), (n) => n === 600);
    for (let i = 0; i < 600; i++) isolate.places.release(`c${i}`);
    await isolate.places.settled();
    await eventually(() => stored(setup.kv), (all) => Object.keys(all).length === 0);
  } finally {
    await setup.close();
  }
});

Deno.test("places ahead: two isolates bursting against a high limit take exactly the limit", async () => {
  const setup = await setUp(2, { perUser: 3, perIp: 2000 });
  const [a, b] = setup.isolates;
  try {
    const results = await claimBurst([b, a], 2400);
    assert.deepEqual(tally(results), { ok: 2000, ip_limit: 400 });
    assert.equal(a.places.heldCount() + b.places.heldCount(), 2000);
    assert.equal(await countOf(setup.kv, "ip", "10.0.0.1"), 2000);
  } finally {
    await setup.close();
  }
});

Deno.test("places ahead: a refusal waits for places held ahead on another isolate", async () => {
  const setup = await setUp(2, { perUser: 3, perIp: 2000 });
  const [a, b] = setup.isolates;
  try {
    const first = await Promise.all(
      Array.from({ length: 100 }, (_, i) => a.places.claim(`a${i}`, `user-a${i}`, "10.0.0.1", inAMinute())),
    );
    assert.deepEqual(tally(first), { ok: 100 });
    assert.ok(await countOf(setup.kv, "ip", "10.0.0.1") > 100, "the first isolate took no places ahead");
    // The rest of the limit, all at once on the other isolate: the places held ahead come back in time.
    const rest = await Promise.all(
      Array.from({ length: 1900 }, (_, i) => b.places.claim(`b${i}`, `user-b${i}`, "10.0.0.1", inAMinute())),
    );
    assert.deepEqual(tally(rest), { ok: 1900 });
    assert.equal(await b.places.claim("late", "user-late", "10.0.0.1", inAMinute()), "ip_limit");
    assert.equal(await countOf(setup.kv, "ip", "10.0.0.1"), 2000);
  } finally {
    await setup.close();
  }
});
