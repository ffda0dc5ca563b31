// Figures on the page as people read them: no negative zero, a sign where asked, a dash for none.
import assert from "node:assert/strict";
import { test } from "node:test";

import { fmt } from "../../src/drumjam/web/static/js/api.js";

test("a figure that rounds to zero from below reads 0, not -0", () => {
  assert.equal(fmt(-0.04, " ms", true), "0 ms");
  assert.equal(fmt(-0.04, "", false, 1), "0.0");
  assert.equal(fmt(-0.4, " ms", true), "0 ms");
});

test("signs, digits and missing values", () => {
  assert.equal(fmt(12.4, " ms", true), "+12 ms");
  assert.equal(fmt(-12.6, " ms", true), "-13 ms");
  assert.equal(fmt(0.06, "", true, 1), "+0.1");
  assert.equal(fmt(null), "–");
  assert.equal(fmt(Number.NaN), "–");
});
