// Drum sounds made on the spot with Web Audio, to hear the partner's hits as they arrive.

const TONES = {
  kick: { kind: "tone", from: 150, to: 45, decay: 0.35, gain: 1.0 },
  tom_high: { kind: "tone", from: 320, to: 200, decay: 0.3, gain: 0.7 },
  tom_mid: { kind: "tone", from: 240, to: 150, decay: 0.35, gain: 0.7 },
  tom_floor: { kind: "tone", from: 160, to: 95, decay: 0.45, gain: 0.8 },
  snare: { kind: "snare", filter: 1800, decay: 0.18, gain: 0.8 },
  snare_rim: { kind: "noise", filter: 3000, decay: 0.05, gain: 0.6 },
  hihat: { kind: "noise", filter: 7000, decay: 0.05, gain: 0.35 },
  hihat_open: { kind: "noise", filter: 7000, decay: 0.35, gain: 0.35 },
  crash: { kind: "noise", filter: 5000, decay: 1.2, gain: 0.4 },
  ride: { kind: "noise", filter: 8000, decay: 0.6, gain: 0.25 },
};

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

function soundOf(voice) {
  if (TONES[voice]) return TONES[voice];
  if (voice.startsWith("hihat")) return TONES.hihat;
  if (voice.startsWith("ride")) return TONES.ride;
  if (voice.startsWith("crash") || voice.startsWith("splash") || voice.startsWith("china")) return TONES.crash;
  return TONES.snare;
}

/** Sound one drum hit of `voice` at context time `at` (velocity 1-127) into `destination`. */
export function playDrum(ctx, destination, voice, velocity = 100, at = 0) {
  const s = soundOf(voice);
  const when = Math.max(at, ctx.currentTime);
  const env = ctx.createGain();
  const level = s.gain * Math.max(0.05, Math.min(1, velocity / 127));
  env.gain.setValueAtTime(level, when);
  env.gain.exponentialRampToValueAtTime(0.0001, when + s.decay);
  env.connect(destination);
  const sources = [];
  if (s.kind === "tone" || s.kind === "snare") {
    const osc = ctx.createOscillator();
    osc.frequency.setValueAtTime(s.from || 190, when);
    osc.frequency.exponentialRampToValueAtTime(s.to || 160, when + s.decay);
    osc.connect(env);
    sources.push(osc);
  }
  if (s.kind === "noise" || s.kind === "snare") {
    const src = noise(ctx);
    const hp = ctx.createBiquadFilter();
    hp.type = "highpass";
    hp.frequency.value = s.filter;
    src.connect(hp).connect(env);
    sources.push(src);
  }
  for (const src of sources) {
    src.start(when);
    src.stop(when + s.decay + 0.05);
  }
}
