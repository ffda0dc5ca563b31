// One clock for two players: the NTP-style offset estimate of drumjam.session.clock, in the
// browser. Times are milliseconds; the local clock is performance.timeOrigin + performance.now().
//
// A ping leaves at t0 (local), reaches the server at t1 and leaves it at t2 (server clock) and is
// back at t3 (local): offset = ((t1 - t0) + (t2 - t3)) / 2, delay = (t3 - t0) - (t2 - t1). The
// newest WINDOW samples are kept; the fastest half of them are fitted with a Theil-Sen line
// (offset against local time) so a drift is followed and stalled round trips are ignored. A round
// trip with a stamp that is not a finite number, or back before it left, is ignored; STEP_CONFIRM
// round trips in a row that contradict the estimate on one side (further from it than their
// delay, its round trip and STEP_MIN_MS) say a clock stepped (a computer that slept): only they
// are kept, and the estimate follows at once.

export const WINDOW = 128;
export const FAST_FRACTION = 0.5;
export const MIN_DRIFT_SPAN_MS = 10000;
export const DRIFT_SIGNIFICANCE = 2.0;
export const MAX_DRIFT = 5e-4;
export const STEP_MIN_MS = 50;
export const STEP_CONFIRM = 3;

/** The local clock in ms. */
export function localNowMs() {
  return performance.timeOrigin + performance.now();
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function theilSen(xs, ys) {
  const slopes = [];
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      if (xs[j] !== xs[i]) slopes.push((ys[j] - ys[i]) / (xs[j] - xs[i]));
    }
  }
  return slopes.length ? median(slopes) : 0;
}

/** {local, offset, delay} of one round trip (all ms); null for stamps that are not finite
 * numbers or out of order (the reply back before the ping left, or left the server before it
 * arrived). */
export function makeSample(t0, t1, t2, t3) {
  if (![t0, t1, t2, t3].every((t) => typeof t === "number" && Number.isFinite(t))) return null;
  if (t3 < t0 || t2 < t1) return null;
  return { local: (t0 + t3) / 2, offset: ((t1 - t0) + (t2 - t3)) / 2,
           delay: Math.max(0, (t3 - t0) - (t2 - t1)) };
}

/** +1 or -1 if the sample says the clock stepped ahead of or behind the estimate, else 0. */
export function stepSide(est, sample) {
  const residual = sample.offset - (est.offsetMs + est.drift * (sample.local - est.refLocalMs));
  if (Math.abs(residual) <= sample.delay + est.rttMs + STEP_MIN_MS) return 0;
  return residual > 0 ? 1 : -1;
}

/** Offset (server - local) at refLocal, drift, fastest round trip and spread, from samples. */
export function estimate(samples) {
  const nFast = Math.max(1, Math.ceil(samples.length * FAST_FRACTION));
  const fast = [...samples].sort((a, b) => a.delay - b.delay).slice(0, nFast);
  fast.sort((a, b) => a.local - b.local);
  const xs = fast.map((s) => s.local);
  const ys = fast.map((s) => s.offset);
  const ref = xs[xs.length - 1];
  const span = ref - xs[0];
  let drift = 0;
  if (fast.length >= 4 && span >= MIN_DRIFT_SPAN_MS) {
    drift = theilSen(xs, ys);
    const line = xs.map((x, i) => ys[i] - drift * x);
    const centre = median(line);
    const scatter = median(line.map((r) => Math.abs(r - centre)));
    if (Math.abs(drift) > MAX_DRIFT || Math.abs(drift) * span < DRIFT_SIGNIFICANCE * scatter) drift = 0;
  }
  const residual = xs.map((x, i) => ys[i] - drift * (x - ref));
  const offset = median(residual);
  return {
    offsetMs: offset,
    drift,
    refLocalMs: ref,
    rttMs: Math.min(...fast.map((s) => s.delay)),
    spreadMs: median(residual.map((r) => Math.abs(r - offset))),
    samples: samples.length,
  };
}

export class ClockSync {
  constructor() {
    this.samples = [];
    this.est = null;
    this.stepped = [];
    this.stepSide = 0;
  }

  /** Add one round trip; the new estimate (the same one if the round trip was ignored). */
  add(t0, t1, t2, t3) {
    const sample = makeSample(t0, t1, t2, t3);
    if (sample === null) return this.est;
    const side = this.est === null ? 0 : stepSide(this.est, sample);
    if (side !== this.stepSide) this.stepped = [];
    this.stepSide = side;
    if (side) this.stepped.push(sample);
    if (this.stepped.length >= STEP_CONFIRM) {
      this.samples = this.stepped;
      this.stepped = [];
      this.stepSide = 0;
    } else {
      this.samples.push(sample);
      if (this.samples.length > WINDOW) this.samples.shift();
    }
    this.est = estimate(this.samples);
    return this.est;
  }

  get ready() {
    return this.est !== null;
  }

  offsetAt(localMs) {
    return this.est.offsetMs + this.est.drift * (localMs - this.est.refLocalMs);
  }

  toServer(localMs) {
    return localMs + this.offsetAt(localMs);
  }

  toLocal(serverMs) {
    return serverMs - this.offsetAt(serverMs - this.est.offsetMs);
  }

  /** "good" (spread under 1 ms), "fair" (under 5 ms) or "poor". */
  get quality() {
    if (!this.est) return "none";
    if (this.est.spreadMs < 1) return "good";
    return this.est.spreadMs < 5 ? "fair" : "poor";
  }
}
