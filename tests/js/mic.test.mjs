import assert from "node:assert/strict";
import { test } from "node:test";

import { HEADER_BYTES, encodeFrame, micErrorText } from "../../src/drumjam/web/static/js/mic.js";

test("a frame is the 16-byte header then int16 samples, as the server reads them", () => {
  const samples = new Float32Array([0, 0.5, -1, 1.5]);
  const buf = encodeFrame(samples, { player: 1, seq: 7, firstFrame: 123456789012 });
  const view = new DataView(buf);
  assert.equal(buf.byteLength, HEADER_BYTES + 8);
  assert.equal(String.fromCharCode(view.getUint8(0), view.getUint8(1)), "DJ");
  assert.equal(view.getUint8(2), 1);
  assert.equal(view.getUint8(3), 1);
  assert.equal(view.getUint32(4, true), 7);
  assert.equal(view.getBigInt64(8, true), 123456789012n);
  const values = [0, 1, 2, 3].map((i) => view.getInt16(HEADER_BYTES + 2 * i, true));
  assert.deepEqual(values, [0, 16384, -32767, 32767]); // clipped at full scale
});

test("no microphone, a refused permission and a busy device each say what to do", () => {
  assert.match(micErrorText({ name: "NotFoundError" }), /No microphone was found: plug one in/);
  assert.match(micErrorText({ name: "NotAllowedError" }), /refused the microphone: allow it/);
  assert.match(micErrorText({ name: "NotReadableError" }), /busy/);
  assert.match(micErrorText(new Error("odd")), /could not be opened: odd/);
});
