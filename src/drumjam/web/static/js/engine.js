// Audio output of every page: the backing track and the click, scheduled on the one audio
// clock (audioclock.js) so that each is heard at its song time, and hits stamped on the same
// clock. The clicks come from timeline.js, which the play screen shows too.

import { SongClock } from "./audioclock.js";
import { fetchWaitingOutBusy } from "./busy.js";
import { clickSchedule } from "./timeline.js";

/** Seconds between pressing Start and the first sound, so nothing is scheduled in the past. */
export const START_DELAY_S = 0.15;

export class AudioEngine {
  constructor() {
    this.ctx = new AudioContext({ latencyHint: "interactive" });
    this.clock = new SongClock(this.ctx);
    this.music = this.ctx.createGain();
    this.music.connect(this.ctx.destination);
    this.clickBus = this.ctx.createGain();
    this.clickBus.connect(this.ctx.destination);
    this.nodes = [];
    this.buffers = new Map();
    this.clicks = []; // the clicks of the run, in song time (see timeline.clickSchedule)
  }

  async resume() {
    if (this.ctx.state !== "running") {
      try { await this.ctx.resume(); } catch (_) { /* autoplay policy: resumes on next gesture */ }
    }
  }

  /**
   * Decode a backing track (kept for the next run); `onProgress(fraction)` while loading.
   * While the server is too busy to make it (503: every stretch slot taken), the request is
   * made again after the wait the server asks for, `onWait(info)` called before each wait
   * (see busy.js); past the tries allowed, throws busy.js's BusyError.
   */
  async load(url, onProgress = () => {}, { onWait } = {}) {
    if (!this.buffers.has(url)) {
      const response = await fetchWaitingOutBusy(url, { onWait });
      if (!response.ok) throw new Error(`could not load the backing track (${response.status})`);
      const data = await readWithProgress(response, onProgress);
      this.buffers.set(url, await this.ctx.decodeAudioData(data));
    }
    return this.buffers.get(url);
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
   * Start a run. The count-in clicks the bars before `plan.lead_in_s`, where the music starts;
   * the song's own beats click on the click bus (switched by setClick).
   * plan: {beatmap: {beats, downbeats, meter}, lead_in_s, audio_start_s, audio_end_s, looped,
   *        duration_s}
   * @param {object} opts
   * @param {number|null} opts.heardAtMs performance.now() time at which song time 0 is to be
   *   heard (a shared start); by default as soon as the count-in allows
   * @returns {number} the context time of song time 0
   */
  start({ buffer = null, plan, countInBars = 1, click = true, heardAtMs = null }) {
    this.stop();
    const { beats, downbeats, meter } = plan.beatmap;
    const musicAt = plan.lead_in_s;
    this.clicks = clickSchedule({ beats, downbeats, meter, firstS: musicAt, endS: plan.duration_s, countInBars });
    const first = this.clicks.length ? Math.min(this.clicks[0].time_s, musicAt) : musicAt;
    const now = this.ctx.currentTime;
    const start = heardAtMs === null
      ? this.clock.startAt(now + START_DELAY_S - first)
      : this.clock.startHeardAt(heardAtMs);
    this.setClick(click);
    for (const c of this.clicks) {
      const at = start + c.time_s;
      if (at >= now) this.click(at, c.accent, c.count === null ? this.clickBus : this.ctx.destination);
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
      const at = start + musicAt;
      const late = Math.max(0, now - at); // joined after the music started
      src.start(Math.max(at, now), plan.audio_start_s + late);
      src.stop(start + plan.duration_s + (plan.looped ? 0 : 2));
      this.nodes.push(src);
    }
    return start;
  }

  /** Clicks only, e.g. for calibration: returns their song times. */
  startClicks(count, period) {
    this.stop();
    const start = this.clock.startAt(this.ctx.currentTime + 0.3);
    const times = [];
    for (let i = 0; i < count; i++) {
      times.push(i * period);
      this.click(start + i * period, i % 4 === 0, this.ctx.destination);
    }
    return times;
  }

  stop() {
    for (const node of this.nodes) {
      try { node.stop(); } catch (_) { /* already stopped */ }
    }
    this.nodes = [];
    this.clock.stop();
  }
}

/** The body of a fetch response, reporting the fraction read when its size is known. */
async function readWithProgress(response, onProgress) {
  const total = Number(response.headers.get("Content-Length")) || 0;
  if (!total || !response.body) return response.arrayBuffer();
  const reader = response.body.getReader();
  const chunks = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.length;
    onProgress(Math.min(1, got / total));
  }
  return new Blob(chunks).arrayBuffer();
}
