// One run at a time: a double click on Start makes one session.
import assert from "node:assert/strict";
import { test } from "node:test";

import { singleFlight } from "../../src/drumjam/web/static/js/once.js";

test("calls made while one runs join it; the next call after it starts anew", async () => {
  let runs = 0;
  let release;
  const start = singleFlight(() => new Promise((resolve) => { runs += 1; release = resolve; }));
  const first = start();
  const second = start();
  assert.equal(first, second);
  assert.equal(start.busy, true);
  release("session 1");
  assert.equal(await second, "session 1");
  assert.equal(start.busy, false);
  const third = start();
  release("session 2");
  assert.equal(await third, "session 2");
  assert.equal(runs, 2);
});

test("a failed run frees the guard and passes its error on", async () => {
  const start = singleFlight(async () => { throw new Error("no such song"); });
  await assert.rejects(start(), /no such song/);
  assert.equal(start.busy, false);
});
