// Clicks of a run, and what the play screen shows at a song time.
import assert from "node:assert/strict";
import { test } from "node:test";

import { beatPeriod, clickSchedule, clickState, lastAtOrBefore } from "../../src/drumjam/web/static/js/timeline.js";

const beats = Array.from({ length: 12 }, (_, k) => k * 0.5); // 120 BPM, 3 bars of 4
const downbeats = [0, 2, 4];

test("a one-bar count-in over the lead-in bar, then the song's beats", () => {
  const clicks = clickSchedule({ beats, downbeats, meter: 4, firstS: 2, endS: 5.5, countInBars: 1 });
  assert.deepEqual(clicks.map((c) => c.time_s), [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5]);
  assert.deepEqual(clicks.slice(0, 4).map((c) => c.count), [1, 2, 3, 4]);
  assert.ok(clicks.slice(4).every((c) => c.count === null));
  assert.deepEqual(clicks.filter((c) => c.accent).map((c) => c.time_s), [0, 2, 4]);
});

test("two bars of count-in reach before song time 0; no count-in leaves the beats", () => {
  const two = clickSchedule({ beats, downbeats, meter: 4, firstS: 0, endS: 1, countInBars: 2 });
  assert.deepEqual(two.map((c) => c.time_s), [-4, -3.5, -3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1]);
  assert.deepEqual(two.slice(0, 8).map((c) => c.count), [1, 2, 3, 4, 1, 2, 3, 4]);
  const none = clickSchedule({ beats, downbeats, meter: 4, firstS: 2, endS: 1.2, countInBars: 0 });
  assert.deepEqual(none.map((c) => [c.time_s, c.count]), [[0, null], [0.5, null], [1, null]]);
});

test("the beat period, and 0.5 s for a single beat", () => {
  assert.equal(beatPeriod([1, 1.6, 2.2]), 0.6000000000000001);
  assert.equal(beatPeriod([3]), 0.5);
});

test("lastAtOrBefore finds the click sounding at a time", () => {
  const clicks = [0, 1, 2].map((t) => ({ time_s: t }));
  assert.equal(lastAtOrBefore(clicks, -0.1), -1);
  assert.equal(lastAtOrBefore(clicks, 0), 0);
  assert.equal(lastAtOrBefore(clicks, 1.99), 1);
  assert.equal(lastAtOrBefore(clicks, 9), 2);
});

test("the screen flashes on each click, counts in, and says how long until the first", () => {
  const clicks = clickSchedule({ beats, downbeats, meter: 4, firstS: 2, endS: 5.5, countInBars: 1 });
  assert.deepEqual(clickState(clicks, -3), { flash: null, count: null, waitS: 3 });
  assert.deepEqual(clickState(clicks, 0.02), { flash: "accent", count: 1, waitS: null });
  assert.deepEqual(clickState(clicks, 0.52), { flash: "beat", count: 2, waitS: null });
  assert.deepEqual(clickState(clicks, 0.8), { flash: null, count: 2, waitS: null });
  assert.deepEqual(clickState(clicks, 2.05), { flash: "accent", count: null, waitS: null });
});
