// Synthesised drum sounds for keyboard and pad hits (an electronic kit makes its own sound).

let noiseBuffer = null;

function noise(ctx) {
  if (!noiseBuffer || noiseBuffer.sampleRate !== ctx.sampleRate) {
    noiseBuffer = ctx.createBuffer(1, ctx.sampleRate, ctx.sampleRate);
    const data = noiseBuffer.getChannelData(0);
    for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1;
  }
  const src = ctx.createBufferSource();
  src.buffer = noiseBuffer;
  return src;
}

function envelope(ctx, at, peak, decay_s) {
  const gain = ctx.createGain();
  gain.gain.setValueAtTime(peak, at);
  gain.gain.exponentialRampToValueAtTime(0.0001, at + decay_s);
  return gain;
}

function tone(ctx, out, at, startHz, endHz, peak, decay_s) {
  const osc = ctx.createOscillator();
  osc.frequency.setValueAtTime(startHz, at);
  osc.frequency.exponentialRampToValueAtTime(endHz, at + decay_s);
  osc.connect(envelope(ctx, at, peak, decay_s)).connect(out);
  osc.start(at);
  osc.stop(at + decay_s + 0.02);
}

function hiss(ctx, out, at, filterType, hz, peak, decay_s) {
  const src = noise(ctx);
  const filter = ctx.createBiquadFilter();
  filter.type = filterType;
  filter.frequency.value = hz;
  src.connect(filter).connect(envelope(ctx, at, peak, decay_s)).connect(out);
  src.start(at);
  src.stop(at + decay_s + 0.02);
}

const TOMS = { tom_high: 220, tom_mid: 160, tom_floor: 110 };

/** Play one drum voice now on `out`, louder with higher MIDI velocity. */
export function playDrum(ctx, out, voice, velocity = 100) {
  const at = ctx.currentTime;
  const v = Math.max(0.05, Math.min(1, velocity / 127));
  if (voice === "kick") {
    tone(ctx, out, at, 140, 45, 0.9 * v, 0.35);
  } else if (voice === "snare" || voice === "snare_rim" || voice === "side_stick" || voice === "clap") {
    tone(ctx, out, at, 220, 160, 0.35 * v, 0.12);
    hiss(ctx, out, at, "highpass", 1500, 0.5 * v, voice === "side_stick" ? 0.05 : 0.2);
  } else if (voice === "hihat_closed" || voice === "hihat_pedal") {
    hiss(ctx, out, at, "highpass", 7000, 0.3 * v, 0.05);
  } else if (voice === "hihat_open") {
    hiss(ctx, out, at, "highpass", 7000, 0.3 * v, 0.35);
  } else if (TOMS[voice]) {
    tone(ctx, out, at, TOMS[voice] * 1.5, TOMS[voice], 0.7 * v, 0.4);
  } else if (voice === "ride" || voice === "ride_bell") {
    hiss(ctx, out, at, "bandpass", 5000, 0.25 * v, 0.6);
  } else {
    hiss(ctx, out, at, "highpass", 4000, 0.4 * v, 1.2); // crash, splash, china, percussion
  }
}
