import assert from "node:assert/strict";
import { test } from "node:test";

import { HEADER_BYTES, micConstraints, roomCheckBody } from "../../src/drumjam/web/static/js/mic.js";
import { missingRoomCheck, roomMode, roomSummary } from "../../src/drumjam/web/static/js/roompair.js";

test("the room check's body is both microphones' frames over the time both recorded", () => {
  const own = { firstFrame: 1000, samples: new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5]) };
  const other = { firstFrame: 1002, samples: new Float32Array([-0.1, -0.2, -0.3, -0.4, -0.5]) };
  const body = roomCheckBody(own, other);
  // frames 1002-1004: three samples each, the own microphone's first, one length each
  assert.equal(body.byteLength, 2 * (HEADER_BYTES + 3 * 2));
  const view = new DataView(body);
  const half = body.byteLength / 2;
  for (const [at, first] of [[0, 0.3], [half, -0.1]]) {
    assert.equal(String.fromCharCode(view.getUint8(at), view.getUint8(at + 1)), "DJ");
    assert.equal(view.getBigInt64(at + 8, true), 1002n);
    assert.equal(view.getInt16(at + HEADER_BYTES, true), Math.round(first * 32767));
  }
  assert.throws(() => roomCheckBody(own, { firstFrame: 5000, samples: new Float32Array(4) }),
    /did not record at the same time/);
});

test("one interface asks for two channels of the chosen device, processing off", () => {
  const c = micConstraints({ deviceId: "abc", channels: 2 });
  assert.deepEqual(c.audio.deviceId, { exact: "abc" });
  assert.deepEqual(c.audio.channelCount, { ideal: 2 });
  assert.equal(c.audio.echoCancellation, false);
  assert.equal(micConstraints().audio.channelCount, undefined);
});

test("a room pair needs two microphone players, and the room check of both kits", () => {
  assert.equal(roomMode({ players: 2, mics: [true, true], sameRoom: true, channelPerKit: false }), "same");
  assert.equal(roomMode({ players: 2, mics: [true, true], sameRoom: false, channelPerKit: true }), "interface");
  assert.equal(roomMode({ players: 2, mics: [true, false], sameRoom: true, channelPerKit: false }), "");
  assert.equal(roomMode({ players: 1, mics: [true], sameRoom: true, channelPerKit: true }), "");
  assert.equal(missingRoomCheck(["Ann", "Ben"], [{ delay_ms: 6 }, { delay_ms: 8 }]), null);
  assert.match(missingRoomCheck(["Ann", "Ben"], [{ delay_ms: 6 }, null]), /need the room check \(Ben\).*count for both/);
  assert.match(roomSummary("Ann", { delay_ms: 6.4, gain_db: -17.2, hits: 28 }), /6\.4 ms later and 17 dB quieter \(28 hits\)/);
  assert.match(roomSummary("Ann", null), /no room check yet/);
});
