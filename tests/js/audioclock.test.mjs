// The one audio clock: hits are stamped with the context time heard when they were played.
import assert from "node:assert/strict";
import { test } from "node:test";

import { SongClock, heardContextTime, heardPerfMs } from "../../src/drumjam/web/static/js/audioclock.js";

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

test("heardPerfMs inverts heardContextTime", () => {
  const ctx = fakeContext({ perfMs: 2_000, heard: 1.0, latencyS: 0.039 });
  for (const t of [0.5, 1.0, 3.25]) {
    const ms = heardPerfMs(ctx, t, 2_100);
    assert.ok(Math.abs(heardContextTime(ctx, ms, 2_100) - t) < 1e-12);
  }
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
