// The microphone as an input: an acoustic kit heard through getUserMedia (echo cancellation,
// noise suppression and auto gain off: drumjam cancels the song itself and measures levels),
// captured by an AudioWorklet on the page's one AudioContext, so every sample has its frame on
// the audio clock the backing track plays on. Frames of 20 ms go to the server as binary
// WebSocket messages (header: "DJ", format 1 = int16, player, sequence number, audio-clock
// frame of the first sample; then the samples), where they are transcribed and scored like
// keys. One interface with a channel per kit streams its channel 1 as player 1's microphone
// and channel 2 as player 2's (two frames per 20 ms, one per player, on one clock). The pure
// parts (frame encoding, error texts, the room check's body) are tested under node.

export const MIC_CONSTRAINTS = {
  audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  video: false,
};

/** getUserMedia constraints for a chosen microphone (`deviceId`, "" = the default) and the
 * channels wanted (2: one interface, a channel per kit). */
export function micConstraints({ deviceId = "", channels = 1 } = {}) {
  const audio = { ...MIC_CONSTRAINTS.audio };
  if (deviceId) audio.deviceId = { exact: deviceId };
  if (channels > 1) audio.channelCount = { ideal: channels };
  return { audio, video: false };
}

/** The room check's body: the player's own microphone's frame, then the other's, over the time
 * both recorded (two recordings {firstFrame, samples} on one audio clock). */
export function roomCheckBody(own, other) {
  const start = Math.max(own.firstFrame, other.firstFrame);
  const end = Math.min(own.firstFrame + own.samples.length, other.firstFrame + other.samples.length);
  if (end - start <= 0) throw new Error("The two microphones did not record at the same time; try the room check again.");
  const cut = (r) => r.samples.subarray(start - r.firstFrame, end - r.firstFrame);
  const a = new Uint8Array(encodeFrame(cut(own), { player: 0, seq: 0, firstFrame: start }));
  const b = new Uint8Array(encodeFrame(cut(other), { player: 1, seq: 0, firstFrame: start }));
  const body = new Uint8Array(a.length + b.length);
  body.set(a);
  body.set(b, a.length);
  return body.buffer;
}
export const FRAME_S = 0.02;
export const HEADER_BYTES = 16;

/** A binary frame: the 16-byte header, then int16 little-endian samples. */
export function encodeFrame(samples, { player, seq, firstFrame }) {
  const buffer = new ArrayBuffer(HEADER_BYTES + 2 * samples.length);
  const view = new DataView(buffer);
  view.setUint8(0, 0x44); // D
  view.setUint8(1, 0x4a); // J
  view.setUint8(2, 1); // int16
  view.setUint8(3, player);
  view.setUint32(4, seq >>> 0, true);
  view.setBigInt64(8, BigInt(Math.round(firstFrame)), true);
  for (let i = 0; i < samples.length; i++) {
    const x = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(HEADER_BYTES + 2 * i, Math.round(x * 32767), true);
  }
  return buffer;
}

/** What to tell the player when the microphone cannot be opened. */
export function micErrorText(err) {
  const name = err && err.name;
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return "No microphone was found: plug one in (or choose it in the browser's settings) and start again.";
  }
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "The browser refused the microphone: allow it for this page (the icon in the address bar) and start again.";
  }
  if (name === "NotReadableError") {
    return "The microphone is busy or failed: close other programs using it and start again.";
  }
  return `The microphone could not be opened: ${err && err.message ? err.message : err}`;
}

function deviceLabel(stream) {
  const track = stream.getAudioTracks()[0];
  return track ? track.label : "";
}

/** The label of the microphone the browser gives (asking for permission); throws an Error
 * with a clear message when there is none or it is refused. */
export async function microphoneLabel(deviceId = "") {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("This browser gives no access to a microphone (a page served over https or localhost is needed).");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia(micConstraints({ deviceId }));
  } catch (err) {
    throw new Error(micErrorText(err));
  }
  const label = deviceLabel(stream);
  for (const track of stream.getTracks()) track.stop();
  return label;
}

/** The microphones the browser lists, as [{deviceId, label}] (labels once permission is given). */
export async function listMicrophones() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices.filter((d) => d.kind === "audioinput").map((d) => ({ deviceId: d.deviceId, label: d.label }));
}

/** One player's microphone on an AudioContext. */
export class Microphone {
  /**
   * @param {AudioContext} ctx the page's audio context (the one audio clock)
   * @param {{onFrame: (buf: ArrayBuffer) => void, onEnded: (text: string) => void}} handlers
   */
  constructor(ctx, { onFrame, onEnded }) {
    this.ctx = ctx;
    this.onFrame = onFrame;
    this.onEnded = onEnded;
    this.player = 0;
    this.players = [0]; // the player each channel streams as
    this.seq = 0;
    this.stream = null;
    this.node = null;
    this.recording = null;
    this.device = ""; // the microphone's label, once open
  }

  /**
   * Ask for the microphone and start capturing; throws an Error with a clear message.
   * @param {number} player who plays into it
   * @param {{deviceId?: string, players?: number[]}} options a chosen microphone; `players`
   *   [0, 1]: one interface, its channel 1 streamed as player 1's and channel 2 as player 2's
   */
  async open(player, { deviceId = "", players = [player] } = {}) {
    this.player = player;
    this.players = players;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("This browser gives no access to a microphone (a page served over https or localhost is needed).");
    }
    try {
      this.stream = await navigator.mediaDevices.getUserMedia(micConstraints({ deviceId, channels: players.length }));
    } catch (err) {
      throw new Error(micErrorText(err));
    }
    this.device = deviceLabel(this.stream);
    const first = this.stream.getAudioTracks()[0];
    const got = first && first.getSettings ? first.getSettings().channelCount : undefined;
    if (players.length > 1 && got !== undefined && got < players.length) {
      this.close();
      throw new Error(`${this.device || "This microphone"} gives ${got} channel; a channel per kit needs an interface with ${players.length} inputs (choose it as the microphone).`);
    }
    await this.ctx.audioWorklet.addModule(new URL("./mic-worklet.js", import.meta.url));
    const frameSamples = Math.round(FRAME_S * this.ctx.sampleRate);
    this.node = new AudioWorkletNode(this.ctx, "drumjam-mic", {
      numberOfInputs: 1, numberOfOutputs: 0, channelCount: players.length, channelCountMode: "explicit",
      // a channel per kit kept apart; one microphone's channels mixed down as before
      channelInterpretation: players.length > 1 ? "discrete" : "speakers",
      processorOptions: { frameSamples, channels: players.length },
    });
    this.source = this.ctx.createMediaStreamSource(this.stream);
    this.source.connect(this.node);
    this.streaming = false;
    this.node.port.onmessage = (ev) => {
      if (this.recording) this.recording.push(ev.data);
      if (!this.streaming) return;
      const seq = this.seq++;
      ev.data.channels.forEach((samples, c) => {
        this.onFrame(encodeFrame(samples, { player: this.players[c], seq, firstFrame: ev.data.firstFrame }));
      });
    };
    for (const track of this.stream.getAudioTracks()) {
      track.onended = () => {
        this.close();
        this.onEnded("The microphone was unplugged or switched off; every hit it heard is kept.");
      };
    }
  }

  /** Start sending frames (after the session's `mic_start`). */
  startSending() {
    this.streaming = true;
  }

  /** Record `seconds` of the microphone: {firstFrame, samples, channels} (audio-clock frame of
   * the first sample; `samples` is channel 1). */
  async record(seconds) {
    this.recording = [];
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const frames = this.recording;
    this.recording = null;
    if (!frames.length) throw new Error("The microphone sent no sound: check that it is plugged in and try again.");
    const n = frames.reduce((total, f) => total + f.samples.length, 0);
    const channels = frames[0].channels.map(() => new Float32Array(n));
    let at = 0;
    for (const f of frames) {
      f.channels.forEach((c, i) => channels[i].set(c, at));
      at += f.samples.length;
    }
    return { firstFrame: frames[0].firstFrame, samples: channels[0], channels };
  }

  get sampleRate() {
    return this.ctx.sampleRate;
  }

  close() {
    this.streaming = false;
    if (this.source) this.source.disconnect();
    if (this.node) this.node.port.onmessage = null;
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.node = null;
    this.source = null;
  }
}

/**
 * Calibration by ear: play the server's known clicks at a known audio-clock frame, record the
 * microphone meanwhile, and let the server find the round trip from speakers to microphone
 * (stored for the player `name` and this microphone when a name is given).
 * @returns {Promise<{latency_ms: number, peak_ratio: number, stored: boolean}>}
 */
export async function measureRoundTrip(ctx, mic, { name = "" } = {}) {
  const sr = ctx.sampleRate;
  const wav = await fetch(`/api/calibration/ear/clicks.wav?sample_rate=${sr}`);
  if (!wav.ok) throw new Error("The calibration clicks could not be loaded from the server.");
  const clicks = await ctx.decodeAudioData(await wav.arrayBuffer());
  const at = ctx.currentTime + 0.3;
  const recording = mic.record(clicks.duration + 0.3 + 0.6);
  const src = ctx.createBufferSource();
  src.buffer = clicks;
  src.connect(ctx.destination);
  src.start(at);
  const { firstFrame, samples } = await recording;
  const q = new URLSearchParams({ sample_rate: sr, clicks_frame: Math.round(at * sr), name, device: mic.device });
  const res = await fetch(`/api/calibration/ear?${q}`, {
    method: "POST", headers: { "content-type": "application/octet-stream" },
    body: encodeFrame(samples, { player: mic.player, seq: 0, firstFrame }),
  });
  const answer = await res.json();
  if (!res.ok) throw new Error(answer.detail || `the server answered ${res.status}`);
  return answer;
}
