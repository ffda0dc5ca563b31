// The words of live marks and the running line.
import assert from "node:assert/strict";
import { test } from "node:test";

import { markText, runningText, voiceLabel } from "../../src/drumjam/web/static/js/marks.js";

test("a mark says voice, signed offset, side and judgment", () => {
  assert.equal(markText({ voice: "hihat_closed", offset_ms: 12.4, judgment: "perfect" }),
    "hihat closed +12 ms late · perfect");
  assert.equal(markText({ voice: "kick", offset_ms: -31, judgment: "great" }), "kick -31 ms early · great");
  assert.equal(markText({ voice: "snare", offset_ms: 0, judgment: "perfect" }), "snare 0 ms on time · perfect");
  assert.equal(markText({ voice: "crash", offset_ms: null, judgment: "extra" }), "crash · extra");
  assert.equal(voiceLabel("tom_floor"), "tom floor");
});

test("the running line shows the results page's accuracy", () => {
  assert.equal(runningText({ accuracy_pct: 74.6, hits: 83, mean_abs_offset_ms: 11.8 }),
    "accuracy 75 % · 83 hits · mean |offset| 12 ms");
  assert.equal(runningText({ accuracy_pct: null, hits: 0, mean_abs_offset_ms: null }),
    "accuracy – · 0 hits · mean |offset| –");
  assert.equal(runningText(null), "");
});
