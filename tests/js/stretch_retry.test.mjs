// The stretched backing track while the server is busy: asked for again after Retry-After,
// a bounded number of times and for a bounded total wait, then a BusyError.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  BUSY_DEFAULT_WAIT_S, BUSY_TRIES, BUSY_WAIT_CAP_S, BusyError, fetchWaitingOutBusy, retryAfterS,
} from "../../src/drumjam/web/static/js/busy.js";

const DETAIL = "the server is busy time-stretching backing tracks for 20 requests; try again in a moment";

function answer(status, retryAfter = null) {
  const headers = new Map(retryAfter === null ? [] : [["retry-after", String(retryAfter)]]);
  let cancelled = false;
  return {
    status, ok: status < 400, statusText: status === 503 ? "Service Unavailable" : "OK",
    headers: { get: (name) => headers.get(name.toLowerCase()) ?? null },
    body: { cancel: async () => { cancelled = true; } },
    get cancelled() { return cancelled; },
    json: async () => ({ detail: DETAIL }),
  };
}

/** A fake fetch answering from `answers` in turn, and a fake sleep recording the waits. */
function fakeServer(answers) {
  const asked = [];
  const slept = [];
  const waits = [];
  const opts = {
    fetchFn: async (url) => { asked.push(url); return answers[asked.length - 1]; },
    sleep: async (s) => { slept.push(s); },
    onWait: (info) => { waits.push(info); },
  };
  return { asked, slept, waits, opts };
}

test("a 503 is asked again after its Retry-After, and the success is returned", async () => {
  const answers = [answer(503, 10), answer(503, 3), answer(200)];
  const server = fakeServer(answers);
  const response = await fetchWaitingOutBusy("/api/songs/x/audio?speed=0.7", server.opts);
  assert.equal(response, answers[2]);
  assert.deepEqual(server.asked, Array(3).fill("/api/songs/x/audio?speed=0.7"));
  assert.deepEqual(server.slept, [10, 3]);
  assert.deepEqual(server.waits, [
    { attempt: 1, tries: BUSY_TRIES, waitS: 10, waitedS: 0 },
    { attempt: 2, tries: BUSY_TRIES, waitS: 3, waitedS: 10 },
  ]);
  assert.ok(answers[0].cancelled && answers[1].cancelled); // refused bodies are not left open
});

test("other answers are returned at once, errors included", async () => {
  for (const status of [200, 404, 500]) {
    const server = fakeServer([answer(status, 10)]);
    const response = await fetchWaitingOutBusy("/a", server.opts);
    assert.equal(response.status, status);
    assert.deepEqual(server.slept, []);
  }
});

test("after the tries allowed it gives up with the server's reason", async () => {
  const server = fakeServer(Array(10).fill(null).map(() => answer(503, 1)));
  const err = await fetchWaitingOutBusy("/a", { ...server.opts, tries: 4 }).then(
    () => assert.fail("no error"), (e) => e);
  assert.ok(err instanceof BusyError);
  assert.equal(server.asked.length, 4);
  assert.deepEqual(server.slept, [1, 1, 1]);
  assert.equal(err.tries, 4);
  assert.equal(err.waitedS, 3);
  assert.equal(err.detail, DETAIL);
  assert.match(err.message, /still busy after 4 tries over 3 s: the server is busy time-stretching/);
});

test("a wait that would pass the total cap is not begun", async () => {
  const server = fakeServer(Array(10).fill(null).map(() => answer(503, 25)));
  const err = await fetchWaitingOutBusy("/a", { ...server.opts, maxWaitS: 60 }).then(
    () => assert.fail("no error"), (e) => e);
  assert.ok(err instanceof BusyError);
  assert.deepEqual(server.slept, [25, 25]); // a third 25 s would make 75 s
  assert.equal(server.asked.length, 3);
  assert.equal(err.waitedS, 50);
});

test("the defaults stay bounded: at most BUSY_TRIES requests and BUSY_WAIT_CAP_S waited", async () => {
  const server = fakeServer(Array(100).fill(null).map(() => answer(503, 10)));
  await assert.rejects(fetchWaitingOutBusy("/a", server.opts), BusyError);
  assert.ok(server.asked.length <= BUSY_TRIES && server.asked.length > 1);
  assert.ok(server.slept.reduce((a, b) => a + b, 0) <= BUSY_WAIT_CAP_S);
});

test("a 503 without a usable Retry-After waits the default, and never less than a second", async () => {
  const server = fakeServer([answer(503), answer(503, "soon"), answer(503, 0), answer(200)]);
  await fetchWaitingOutBusy("/a", server.opts);
  assert.deepEqual(server.slept, [BUSY_DEFAULT_WAIT_S, BUSY_DEFAULT_WAIT_S, 1]);
});

test("Retry-After is read as seconds or as an HTTP date", () => {
  const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
  assert.equal(retryAfterS("120", now), 120);
  assert.equal(retryAfterS(" 7 ", now), 7);
  assert.equal(retryAfterS("Wed, 21 Oct 2015 07:28:30 GMT", now), 30);
  assert.equal(retryAfterS("Wed, 21 Oct 2015 07:27:00 GMT", now), 0); // past: at once
  assert.equal(retryAfterS(null, now), null);
  assert.equal(retryAfterS("-5", now), null);
  assert.equal(retryAfterS("later", now), null);
});
