import assert from "node:assert/strict";
import { test } from "node:test";

import { drumName, setupSummary } from "../../src/drumjam/web/static/js/kitcheck.js";

const KIT = {
  checked: true, voices: ["kick", "snare", "tom_high", "tom_mid"], input_gain_db: 6.4,
  confused: [["tom_high", "tom_mid"]],
};

test("the microphone line names the device, the stored round trip and the drums not told apart", () => {
  const line = setupSummary("USB Mic", { latency_ms: 61.6 }, KIT);
  assert.equal(line, "Microphone: USB Mic · round trip 62 ms (stored) · kit checked (bass drum, snare, "
    + "high tom, mid tom; input gain +6 dB) · cannot tell apart: the high tom and the mid tom.");
});

test("nothing stored yet says what to do", () => {
  const line = setupSummary("", { latency_ms: null }, { checked: false });
  assert.equal(line, "Microphone · round trip not measured yet: measured by ear before the first take, or press By ear · kit not checked yet.");
  assert.match(setupSummary("M", { latency_ms: 5 }, { ...KIT, confused: [] }), /every drum told apart/);
  assert.equal(drumName("ride_bell"), "ride bell");
});
