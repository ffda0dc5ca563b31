import assert from "node:assert/strict";
import { test } from "node:test";

import { JoinLink, clockText, joinCode } from "../../src/drumjam/web/static/js/joinlink.js";
import { roomMode } from "../../src/drumjam/web/static/js/roompair.js";

test("the join link's code comes from the fragment, never the query", () => {
  assert.equal(joinCode("#code=Ab-9_x"), "Ab-9_x");
  assert.equal(joinCode("#x=1&code=abc"), "abc");
  assert.equal(joinCode(""), "");
  assert.equal(joinCode("#nothing"), "");
});

test("same room with player 2's device joined is its own mode", () => {
  const both = { players: 2, mics: [true, true], sameRoom: true, channelPerKit: false };
  assert.equal(roomMode({ ...both, joined: true }), "joined");
  assert.equal(roomMode(both), "same");
  assert.equal(roomMode({ ...both, channelPerKit: true, joined: true }), "interface");
  assert.equal(roomMode({ ...both, sameRoom: false, joined: true }), "");
});

test("the clock status reads as the page says it", () => {
  assert.match(clockText(null), /measuring/);
  assert.match(clockText({ synced: false, samples: 3, needed: 8, spread_ms: 0 }), /3 of 8 round trips/);
  assert.equal(clockText({ synced: true, samples: 9, needed: 8, spread_ms: 0.42 }), "clock synced (±0.4 ms)");
});

class FakeSocket {
  static OPEN = 1;
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.readyState = FakeSocket.OPEN;
    FakeSocket.last = this;
    setTimeout(() => this.onopen(), 0);
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close() { this.readyState = 3; }
  reply(msg) { this.onmessage({ data: JSON.stringify(msg) }); }
}

test("a pong is measured on the audio clock and its four stamps reported to the server", async () => {
  globalThis.WebSocket = FakeSocket;
  globalThis.location = { protocol: "http:", host: "jam.local:8000" };
  let audio = 5000;
  const seen = [];
  const link = new JoinLink(() => audio, (msg) => seen.push(msg));
  const connecting = link.connect("abc", "tok");
  await new Promise((resolve) => setTimeout(resolve, 5));
  const ws = FakeSocket.last;
  assert.equal(ws.url, "ws://jam.local:8000/ws/joins");
  assert.deepEqual(ws.sent[0], { type: "hello", code: "abc", token: "tok" });
  ws.reply({ type: "join_welcome", seat: 1, token: "t2", names: ["A", "B"], sample_rate: 48000, partner: true });
  assert.equal((await connecting).token, "t2");
  link.pingLoop();
  assert.deepEqual(ws.sent[1], { type: "ping", t0_ms: 5000 });
  audio = 5002; // the server clock is 1000 ms ahead: t1 = t2 = 6001
  ws.reply({ type: "pong", t0_ms: 5000, t1_ms: 6001, t2_ms: 6001 });
  assert.deepEqual(ws.sent[2], { type: "clock", t0_ms: 5000, t1_ms: 6001, t2_ms: 6001, t3_ms: 5002 });
  assert.equal(link.audioMsAt(7000), 6000);
  audio = 4990; // the audio clock stepped back across a round trip: that one is dropped
  ws.reply({ type: "pong", t0_ms: 5000, t1_ms: 6001, t2_ms: 6001 });
  assert.equal(ws.sent.length, 3);
  ws.reply({ type: "run", player: 1 });
  assert.deepEqual(seen, [{ type: "run", player: 1 }]);
  link.close();
});

test("a refused hello rejects with the server's reason", async () => {
  globalThis.WebSocket = FakeSocket;
  const link = new JoinLink(() => 0, () => {});
  const connecting = link.connect("gone");
  await new Promise((resolve) => setTimeout(resolve, 5));
  FakeSocket.last.reply({ type: "error", detail: "this jam has ended (the host closed it)" });
  FakeSocket.last.onclose();
  await assert.rejects(connecting, /this jam has ended/);
});
