// Audio playback, click and the audio clock that every hit is timestamped on.
//
// Song time 0 is the start of the practice timeline, one bar before the music. A hit's time
// is the audio-clock time being heard when the key, pad or MIDI note arrived (from
// AudioContext.getOutputTimestamp), minus the song start. Tests may fix the song time with
// `setManualTime(t)` so scripted key presses land at known song times.

export class AudioEngine {
  constructor() {
    this.ctx = new AudioContext({ latencyHint: "interactive" });
    this.music = this.ctx.createGain();
    this.music.connect(this.ctx.destination);
    this.clickBus = this.ctx.createGain();
    this.clickBus.connect(this.ctx.destination);
    this.songStart = null; // context time of song time 0
    this.manualTime = null; // test hook: fixed song time
    this.nodes = [];
    this.buffers = new Map();
  }

  async resume() {
    if (this.ctx.state !== "running") {
      try { await this.ctx.resume(); } catch (_) { /* autoplay policy: resumes on next gesture */ }
    }
  }

  async load(url) {
    if (!this.buffers.has(url)) {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`could not load the backing track (${response.status})`);
      const data = await response.arrayBuffer();
      this.buffers.set(url, await this.ctx.decodeAudioData(data));
    }
    return this.buffers.get(url);
  }

  /** Context time heard at a performance.now()-based event timestamp (ms). */
  contextTimeAt(eventMs) {
    const ts = this.ctx.getOutputTimestamp ? this.ctx.getOutputTimestamp() : null;
    if (ts && ts.performanceTime > 0) return ts.contextTime + (eventMs - ts.performanceTime) / 1000;
    const latency = this.ctx.outputLatency || this.ctx.baseLatency || 0;
    return this.ctx.currentTime - latency + (eventMs - performance.now()) / 1000;
  }

  /** Song time (s) of an event timestamp, or null when nothing is playing. */
  songTimeAt(eventMs) {
    if (this.manualTime !== null) return this.manualTime;
    if (this.songStart === null) return null;
    return this.contextTimeAt(eventMs) - this.songStart;
  }

  songTimeNow() {
    return this.songTimeAt(performance.now());
  }

  setManualTime(t) {
    this.manualTime = t === null ? null : Number(t);
  }

  setClick(on) {
    this.clickBus.gain.value = on ? 1 : 0;
  }

  click(at, accent, bus) {
    const osc = this.ctx.createOscillator();
    const env = this.ctx.createGain();
    osc.frequency.value = accent ? 1760 : 1175;
    env.gain.setValueAtTime(0.0001, at);
    env.gain.exponentialRampToValueAtTime(accent ? 0.6 : 0.35, at + 0.002);
    env.gain.exponentialRampToValueAtTime(0.0001, at + 0.06);
    osc.connect(env).connect(bus);
    osc.start(at);
    osc.stop(at + 0.08);
    this.nodes.push(osc);
  }

  /**
   * Start a practice run. The timeline starts `plan.lead_in_s` (one bar) before the music;
   * the count-in clicks the bars before the music starts.
   * plan: {beatmap: {beats, downbeats, meter}, lead_in_s, audio_start_s, audio_end_s, looped,
   *        duration_s}
   */
  start({ buffer, plan, countInBars = 1, click = true }) {
    this.stop();
    const beats = plan.beatmap.beats;
    const downbeats = new Set(plan.beatmap.downbeats.map((t) => t.toFixed(6)));
    const period = beats.length > 1 ? beats[1] - beats[0] : 0.5;
    const meter = plan.beatmap.meter;
    const countIn = countInBars * meter;
    const musicAt = plan.lead_in_s;
    // the music starts after the count-in; without one it starts right away (the lead-in bar
    // of the timeline then lies in the past)
    this.songStart = this.ctx.currentTime + 0.15 + countIn * period - musicAt;
    for (let k = countIn; k >= 1; k--) {
      this.click(this.songStart + musicAt - k * period, (countIn - k) % meter === 0, this.ctx.destination);
    }
    this.setClick(click);
    for (const t of beats) {
      if (t > plan.duration_s + 1e-6) break;
      this.click(this.songStart + t, downbeats.has(t.toFixed(6)), this.clickBus);
    }
    if (buffer) {
      const src = this.ctx.createBufferSource();
      src.buffer = buffer;
      src.connect(this.music);
      if (plan.looped) {
        src.loop = true;
        src.loopStart = plan.audio_start_s;
        src.loopEnd = plan.audio_end_s;
      }
      src.start(this.songStart + musicAt, plan.audio_start_s);
      src.stop(this.songStart + plan.duration_s + (plan.looped ? 0 : 2));
      this.nodes.push(src);
    }
    return this.songStart;
  }

  /** Clicks only, e.g. for calibration: returns their song times. */
  startClicks(count, period) {
    this.stop();
    this.songStart = this.ctx.currentTime + 0.3;
    const times = [];
    for (let i = 0; i < count; i++) {
      times.push(i * period);
      this.click(this.songStart + i * period, i % 4 === 0, this.ctx.destination);
    }
    return times;
  }

  stop() {
    for (const node of this.nodes) {
      try { node.stop(); } catch (_) { /* already stopped */ }
    }
    this.nodes = [];
    this.songStart = null;
  }
}
