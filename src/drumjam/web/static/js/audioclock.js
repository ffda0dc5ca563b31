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

/** performance.now() time (ms) at which context time `contextTime` is heard. */
export function heardPerfMs(ctx, contextTime, nowMs) {
  return nowMs + (contextTime - heardContextTime(ctx, nowMs, nowMs)) * 1000;
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
  }

  /** Context time heard at performance time `eventMs`. */
  contextTimeAt(eventMs) {
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
    return heardPerfMs(this.ctx, this.contextTimeOf(t), this.now());
  }

  /** Test hook: fix the song time (null lets the audio clock run again). */
  setManual(t) {
    this.manual = t === null || t === undefined ? null : Number(t);
  }
}
