// The one audio clock: hits are stamped with the context time heard when they were played.
import assert from "node:assert/strict";
import { test } from "node:test";

import { OutputOffset, SongClock, heardContextTime } from "../../src/drumjam/web/static/js/audioclock.js";

/** A context whose speaker plays context time `heard` at performance time `perfMs`, rendering
 * `latencyS` ahead of it. */
function fakeContext({ perfMs, heard, latencyS, withTimestamp = true }) {
  const ctx = { currentTime: heard + latencyS, outputLatency: latencyS, baseLatency: 0.01 };
  if (withTimestamp) ctx.getOutputTimestamp = () => ({ contextTime: heard, performanceTime: perfMs });
  return ctx;
}

test("an event is stamped with the context time heard at its timestamp", () => {
  const ctx = fakeContext({ perfMs: 10_000, heard: 5.0, latencyS: 0.04 });
  assert.equal(heardContextTime(ctx, 10_000, 10_000), 5.0);
  assert.ok(Math.abs(heardContextTime(ctx, 10_250, 10_300) - 5.25) < 1e-12);
});

test("without getOutputTimestamp, currentTime less the output latency stands in", () => {
  const ctx = fakeContext({ perfMs: 10_000, heard: 5.0, latencyS: 0.04, withTimestamp: false });
  assert.ok(Math.abs(heardContextTime(ctx, 9_990, 10_000) - 4.99) < 1e-12);
  ctx.outputLatency = 0; // some browsers: only the base latency is known
  assert.ok(Math.abs(heardContextTime(ctx, 10_000, 10_000) - (5.04 - 0.01)) < 1e-12);
});

test("one late output timestamp does not move the clock; a new output does, within the window", () => {
  const offset = new OutputOffset(100);
  const truth = 5.0 - 10; // heard context time minus performance time (s)
  let last;
  for (let i = 0; i < 7; i++) {
    const perf = 10_000 + 16 * i;
    const late = i === 3 ? 0.008 : 0; // the audio thread ran 8 ms late once
    last = offset.add({ contextTime: truth + perf / 1000 - late, performanceTime: perf });
  }
  assert.ok(Math.abs(last - truth) < 1e-9);
  // the output slipped 20 ms: once the old timestamps are older than the window, only the new count
  last = offset.add({ contextTime: truth - 0.02 + 10.2, performanceTime: 10_200 });
  assert.ok(Math.abs(last - (truth - 0.02)) < 1e-9);
  assert.equal(offset.samples.length, 1);
});

test("a SongClock maps performance time through the median of its output timestamps", () => {
  let k = 0;
  const jitterMs = [0, 6, -1, 0, 1, 0, -7, 0, 2];
  const ctx = { currentTime: 9, getOutputTimestamp: () => {
    const perf = 1_000 + 16 * k;
    const ts = { contextTime: 3 + perf / 1000 + jitterMs[k % jitterMs.length] / 1000, performanceTime: perf };
    k += 1;
    return ts;
  } };
  const clock = new SongClock(ctx, () => 1_000 + 16 * k);
  clock.startAt(5);
  for (let i = 0; i < 9; i++) clock.songTimeNow();
  assert.ok(Math.abs(clock.songTimeAt(2_000) - (3 + 2 - 5)) < 1e-9);
  assert.ok(Math.abs(clock.perfMsOf(0) - 2_000) < 1e-6);
});

test("a hit played when the click is heard is at the click's song time, whatever the latency", () => {
  for (const latencyS of [0, 0.039, 0.120]) {
    let now = 1_000;
    const ctx = fakeContext({ perfMs: now, heard: 2.0, latencyS });
    const clock = new SongClock(ctx, () => now);
    // sound scheduled at currentTime + 0.15 (as the engine does) is heard latency later
    const start = clock.startAt(ctx.currentTime + 0.15);
    const clickAt = 0.5; // song time of a click
    const heardMs = clock.perfMsOf(clickAt);
    assert.ok(Math.abs(heardMs - (1_000 + (latencyS + 0.15 + clickAt) * 1000)) < 1e-9);
    now = heardMs + 3; // the hit's handler runs a little later; the event keeps its stamp
    assert.ok(Math.abs(clock.songTimeAt(heardMs) - clickAt) < 1e-12);
    assert.equal(clock.contextTimeOf(clickAt), start + clickAt);
  }
});

test("a shared start is anchored where it is heard", () => {
  const ctx = fakeContext({ perfMs: 500, heard: 0.3, latencyS: 0.04 });
  const clock = new SongClock(ctx, () => 500);
  clock.startHeardAt(3_500);
  assert.ok(Math.abs(clock.songTimeAt(3_500)) < 1e-12);
  assert.ok(Math.abs(clock.songTimeAt(3_000) + 0.5) < 1e-12);
});

test("no song time before a start; the manual time overrides for tests", () => {
  const clock = new SongClock(fakeContext({ perfMs: 1, heard: 0, latencyS: 0 }), () => 1);
  assert.equal(clock.songTimeNow(), null);
  assert.equal(clock.running, false);
  clock.setManual(12.5);
  assert.equal(clock.songTimeAt(123), 12.5);
  clock.setManual(null);
  clock.startAt(0);
  clock.stop();
  assert.equal(clock.songTimeNow(), null);
});
