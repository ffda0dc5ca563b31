// A partner's hits: sounded while fresh, shown only once stale (after a dropout).
import assert from "node:assert/strict";
import { test } from "node:test";

import { PartnerHits, STALE_MS } from "../../src/drumjam/web/static/js/partner.js";

test("fresh hits sound and count towards the delay; stale ones are only shown", () => {
  const partner = new PartnerHits();
  assert.deepEqual(partner.arrive(1_000, 1_030), { ageMs: 30, sound: true });
  assert.deepEqual(partner.arrive(2_000, 2_000 + STALE_MS), { ageMs: STALE_MS, sound: true });
  // sixteen hits resent at once after a 5 s dropout
  const resent = Array.from({ length: 16 }, (_, i) => partner.arrive(3_000 + 250 * i, 9_000));
  assert.ok(resent.every((r) => !r.sound));
  assert.equal(partner.stale, 16);
  assert.deepEqual(resent.map((r) => r.ageMs).slice(-2), [2_500, 2_250]);
  assert.equal(partner.meanDelayMs(), (30 + STALE_MS) / 2);
});

test("the delay is the mean of the newest fresh hits", () => {
  const partner = new PartnerHits({ staleMs: 100, keep: 3 });
  assert.equal(partner.meanDelayMs(), null);
  for (const d of [10, 20, 30, 40]) partner.arrive(0, d);
  assert.deepEqual(partner.delays, [20, 30, 40]);
  assert.equal(partner.meanDelayMs(), 30);
});
