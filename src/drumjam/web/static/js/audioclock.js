// The one audio clock of every page: a hit's time is the audio-output time being *heard* when
// its key, pad or MIDI note arrived, and everything audible is scheduled so that it is heard
// at its song time. Hitting exactly with the click one hears therefore scores 0 ms.
//
// An AudioContext renders ahead of the loudspeaker by its output latency (about 40 ms in
// Chromium). getOutputTimestamp() pairs the context time now leaving the speaker with the
// performance.now() time it is heard; without it, currentTime less outputLatency (or
// baseLatency) stands in. Nothing here touches the DOM: a test can pass any object with the
// AudioContext clock fields.

/**
 * Context time heard at a performance.now()-based time.
 * @param {{currentTime: number, outputLatency?: number, baseLatency?: number,
 *          getOutputTimestamp?: () => {contextTime: number, performanceTime: number}}} ctx
 * @param {number} eventMs performance.now() time of the event (an input event's timeStamp)
 * @param {number} nowMs performance.now() at the call
 * @returns {number} context time (s)
 */
export function heardContextTime(ctx, eventMs, nowMs) {
  const ts = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
  if (ts && ts.performanceTime > 0) return ts.contextTime + (eventMs - ts.performanceTime) / 1000;
  const latency = ctx.outputLatency || ctx.baseLatency || 0;
  return ctx.currentTime - latency + (eventMs - nowMs) / 1000;
}

/** How long output timestamps are kept for the median (ms of performance time). */
export const TIMESTAMPS_KEPT_MS = 400;

/**
 * The offset between the heard context time and performance time (s): the median of the output
 * timestamps of the last TIMESTAMPS_KEPT_MS. One timestamp can be off by a few ms when the audio
 * thread runs late on a busy machine; the median of the two dozen that a page's frames read in
 * that time is not. When the output really moves (an underrun, a new device) the median
 * follows within half that time.
 */
export class OutputOffset {
  constructor(keptMs = TIMESTAMPS_KEPT_MS) {
    this.keptMs = keptMs;
    this.samples = []; // [performanceTime, offset]
  }

  /** Add one output timestamp {contextTime, performanceTime}; returns the median offset (s). */
  add({ contextTime, performanceTime }) {
    this.samples.push([performanceTime, contextTime - performanceTime / 1000]);
    while (this.samples[0][0] < performanceTime - this.keptMs) this.samples.shift();
    const sorted = this.samples.map((x) => x[1]).sort((a, b) => a - b);
    const n = sorted.length;
    return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
}

/**
 * Song time on an AudioContext: song time 0 is heard at context time `start`.
 * Tests may fix the song time with `setManual(t)`, so scripted input lands at known times.
 */
export class SongClock {
  /**
   * @param {object} ctx an AudioContext (or an object with its clock fields)
   * @param {() => number} now performance.now
   */
  constructor(ctx, now = () => performance.now()) {
    this.ctx = ctx;
    this.now = now;
    this.start = null; // context time of song time 0
    this.manual = null;
    this.offset = new OutputOffset();
  }

  /** Context time heard at performance time `eventMs` (median-smoothed output timestamps). */
  contextTimeAt(eventMs) {
    const ts = this.ctx.getOutputTimestamp ? this.ctx.getOutputTimestamp() : null;
    if (ts && ts.performanceTime > 0) return this.offset.add(ts) + eventMs / 1000;
    return heardContextTime(this.ctx, eventMs, this.now());
  }

  /** Anchor song time 0 at a context time; returns it. */
  startAt(contextTime) {
    this.start = contextTime;
    return contextTime;
  }

  /** Anchor song time 0 where performance time `perfMs` is heard (e.g. a shared start). */
  startHeardAt(perfMs) {
    return this.startAt(this.contextTimeAt(perfMs));
  }

  stop() {
    this.start = null;
  }

  get running() {
    return this.start !== null || this.manual !== null;
  }

  /** Song time (s) heard at performance time `eventMs`, or null when nothing is playing. */
  songTimeAt(eventMs) {
    if (this.manual !== null) return this.manual;
    if (this.start === null) return null;
    return this.contextTimeAt(eventMs) - this.start;
  }

  songTimeNow() {
    return this.songTimeAt(this.now());
  }

  /** Context time at which to schedule a sound heard at song time `t`. */
  contextTimeOf(t) {
    return this.start + t;
  }

  /** performance.now() time (ms) at which song time `t` is heard. */
  perfMsOf(t) {
    const now = this.now();
    return now + (this.contextTimeOf(t) - this.contextTimeAt(now)) * 1000;
  }

  /** Test hook: fix the song time (null lets the audio clock run again). */
  setManual(t) {
    this.manual = t === null || t === undefined ? null : Number(t);
  }
}
