// A partner's hits in a remote duet, as they arrive: sounded while fresh, only shown once they
// are older than STALE_MS (hits resent after a dropout would otherwise sound seconds late).
// Their delay is kept for the "partner's hits arrive N ms late" line. No DOM here.

export const STALE_MS = 300;
export const KEEP = 32;

export class PartnerHits {
  /** @param {{staleMs?: number, keep?: number}} opts */
  constructor({ staleMs = STALE_MS, keep = KEEP } = {}) {
    this.staleMs = staleMs;
    this.keep = keep;
    this.delays = []; // ms, of the newest fresh hits
    this.stale = 0; // hits shown without a sound
  }

  /**
   * One partner hit played at `playedMs` arrived at `arrivedMs` (both on the shared clock).
   * @returns {{ageMs: number, sound: boolean}} whether to sound it or only show it
   */
  arrive(playedMs, arrivedMs) {
    const ageMs = arrivedMs - playedMs;
    const sound = ageMs <= this.staleMs;
    if (sound) {
      this.delays.push(ageMs);
      if (this.delays.length > this.keep) this.delays.shift();
    } else {
      this.stale += 1;
    }
    return { ageMs, sound };
  }

  /** Mean delay (ms) of the fresh hits kept, or null before any. */
  meanDelayMs() {
    if (!this.delays.length) return null;
    return this.delays.reduce((a, b) => a + b, 0) / this.delays.length;
  }
}
