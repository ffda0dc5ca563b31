// The practice timeline as the browser sees it: where the count-in and the click fall, and which
// click is sounding at a song time. The audio engine schedules these clicks and the play screen
// shows the same ones, so what is heard and what is seen never disagree. No DOM here.

/** Seconds per beat of a beat list (0.5 s when it has fewer than two beats). */
export function beatPeriod(beats) {
  return beats.length > 1 ? beats[1] - beats[0] : 0.5;
}

/**
 * Every click of a run, in song time.
 * @param {object} opts
 * @param {number[]} opts.beats beat times (s)
 * @param {number[]} opts.downbeats downbeat times (s)
 * @param {number} opts.meter beats per bar
 * @param {number} opts.firstS song time where the music starts (the count-in ends there)
 * @param {number} opts.endS no click after this song time
 * @param {number} opts.countInBars bars counted in before `firstS`
 * @returns {{time_s: number, accent: boolean, count: number|null}[]} in time order; `count` is
 *   the count-in number (1..meter) of count-in clicks, null for the song's own beats
 */
export function clickSchedule({ beats, downbeats, meter, firstS, endS, countInBars }) {
  const period = beatPeriod(beats);
  const countIn = Math.max(0, Math.round(countInBars)) * meter;
  const clicks = [];
  for (let k = countIn; k >= 1; k--) {
    const i = countIn - k;
    clicks.push({ time_s: firstS - k * period, accent: i % meter === 0, count: (i % meter) + 1 });
  }
  const down = new Set(downbeats.map((t) => t.toFixed(6)));
  const countInEnd = firstS - 1e-3;
  for (const t of beats) {
    if (t > endS + 1e-6) break;
    if (countIn && t >= firstS - countIn * period - 1e-3 && t < countInEnd) continue;
    clicks.push({ time_s: t, accent: down.has(t.toFixed(6)), count: null });
  }
  return clicks.sort((a, b) => a.time_s - b.time_s);
}

/** Index of the last entry with time_s at or before `t` (-1 when none): binary search. */
export function lastAtOrBefore(entries, t) {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid].time_s <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * What the play screen shows at song time `t`: the click sounding (for `flashS` after it), the
 * count-in number until the music starts, and seconds left before the first click.
 * @returns {{flash: null|"beat"|"accent", count: number|null, waitS: number|null}}
 */
export function clickState(clicks, t, flashS = 0.1) {
  const i = lastAtOrBefore(clicks, t);
  if (i < 0) {
    return { flash: null, count: null, waitS: clicks.length ? clicks[0].time_s - t : null };
  }
  const click = clicks[i];
  const flash = t - click.time_s < flashS ? (click.accent ? "accent" : "beat") : null;
  return { flash, count: click.count, waitS: null };
}
