"""The grid of songs played to a click, and where their tempo really changes.

Songs played to a click keep one tempo per section: the beat sequence is cut into the fewest
segments that each fit a straight line (beat time = start + index x period), by dynamic
programming with a per-segment penalty, so a real tempo change starts a new segment instead of
being smoothed over. Neighbouring long segments on one grid are joined again with whatever short
pieces lie between them (where the tracker slipped off the beat). Each run is fitted as
``start + period * k`` with integer beat numbers ``k``, so slipped beats are outliers rather
than bends; runs whose beats scatter around the grid rather than drift from it are replaced by
the grid, which puts slipped and missing beats back and holds the tempo through every hit's
push and drag. The beat map then takes each beat half-way back towards where it was played
(:func:`toward_played`): a listener hears the beat on the drummer's hit, not on a click nobody
hears, while music that keeps strict time stays on its grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drumjam.analysis.features import Envelope

#: Timing spread of the onsets around a click grid (human microtiming), seconds.
GRID_SIGMA_S = 0.015
#: Cost of one more tempo segment, in units of squared residual / sigma^2.
SEGMENT_PENALTY = 40.0
MIN_GRID_BEATS = 12
#: A run is replaced by its grid only if its RMS residual is below this...
MAX_GRID_RMS_S = 0.022
#: ... and if its residuals scatter rather than drift (see :func:`drift_ratio`).
MAX_DRIFT_RATIO = 2.5
#: Beats this close to their grid are gridded whatever their residuals do.
TIGHT_RMS_S = 0.006
#: Share of a run's beats that must lie on its grid (the rest slipped off it).
MIN_INLIER_SHARE = 0.6
SLIP_TOLERANCE_S = 0.035
MERGE_PERIOD_TOLERANCE = 0.01
EVIDENCE_SMOOTH_S = 0.02
#: A grid runs on past its run where its onset evidence is at least this share of the
#: tracked beats' there.
EXTEND_ACCEPT = 0.8
#: A beat of the grid moves this share of the way to the tracked beat on it
#: (:func:`toward_played`): listeners, and annotators, hear a beat where the drummer played
#: it; the grid holds the tempo through every hit's push and drag. Half-way trusts each as
#: much (0.3 and 0.7 score within 0.015 of it in F +-20 on the drum stems and the mixes of
#: ``benchmarks/beats.py``).
PLAYED_SHARE = 0.5
#: A tracked beat lies on a grid beat within this share of a beat: nearer it than half-way
#: to the next sixteenth, where a tracker that slipped would sit. The grid's own fit leaves
#: out beats further off than a tenth of a beat or :data:`SLIP_TOLERANCE_S`, but within this
#: a beat was played early or late (a tempo bending in an expressive passage), not slipped.
ON_BEAT_SHARE = 0.125
#: Beats either side of a beat whose residuals say whether the music is played or programmed.
LOCAL_BEATS = 8


@dataclass(frozen=True)
class Segment:
    """A run of beats ``[first, last]`` (inclusive indices) at one tempo."""

    first: int
    last: int
    start_s: float
    period_s: float
    rms_s: float


def _cumsums(t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cumulative sums of i, t, i*t, i*i, t*t (i = beat index), each with a leading 0."""
    i = np.arange(t.size, dtype=np.float64)
    return tuple(np.concatenate([[0.0], np.cumsum(x)]) for x in (i, t, i * t, i * i, t * t))


def _sse(c: tuple[np.ndarray, ...], a: np.ndarray, b: int) -> np.ndarray:
    """Residual sum of squares of the least-squares line through beats a..b-1, for many a."""
    si, st, sit, sii, stt = (x[b] - x[a] for x in c)
    n = (b - a).astype(np.float64)
    var_i = sii - si * si / n
    cov = sit - si * st / n
    var_t = stt - st * st / n
    with np.errstate(divide="ignore", invalid="ignore"):
        sse = np.where(var_i > 0, var_t - cov * cov / var_i, 0.0)
    return np.maximum(sse, 0.0)


def segment(beats_s: np.ndarray, min_beats: int = 4) -> list[tuple[int, int]]:
    """Fewest straight-line segments of the beat times (optimal, by dynamic programming).

    Returns ``(first, last_exclusive)`` index pairs covering every beat.
    """
    n = beats_s.size
    if n < 2 * min_beats:
        return [(0, n)]
    c = _cumsums(beats_s)
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    prev = np.zeros(n + 1, dtype=np.int64)
    for b in range(min_beats, n + 1):
        a = np.arange(0, b - min_beats + 1)
        cost = best[a] + _sse(c, a, b) / GRID_SIGMA_S**2 + SEGMENT_PENALTY
        k = int(np.argmin(cost))
        best[b], prev[b] = cost[k], a[k]
    if not np.isfinite(best[n]):
        return [(0, n)]
    cuts, b = [], n
    while b > 0:
        cuts.append((int(prev[b]), b))
        b = int(prev[b])
    return cuts[::-1]


def drift_ratio(resid_s: np.ndarray) -> float:
    """How much the residuals of a grid fit wander: long-lag over short-lag variogram.

    Beats around a click scatter and come back (a drummer rushes a bar and settles): the
    mean squared change of the residual over many beats is about that over two beats, a ratio
    near 1. A band without a click drifts away from any straight grid, and the ratio grows
    with the lag (a random walk: about 8 for 16 beats against 2).
    """
    n = resid_s.size
    long_lag = min(16, max(4, n // 3))
    if n <= long_lag + 2:
        return 0.0
    short = float(np.mean((resid_s[2:] - resid_s[:-2]) ** 2))
    long = float(np.mean((resid_s[long_lag:] - resid_s[:-long_lag]) ** 2))
    return long / short if short > 0 else 0.0


def robust_line(t: np.ndarray) -> tuple[float, float, float]:
    """Line fit (start, period, rms) of times over their index, ignoring outliers."""
    i = np.arange(t.size, dtype=np.float64)
    keep = np.ones(t.size, dtype=bool)
    for _ in range(3):
        period, start = np.polyfit(i[keep], t[keep], 1)
        resid = t - (start + period * i)
        mad = np.median(np.abs(resid[keep] - np.median(resid[keep])))
        keep = np.abs(resid) <= max(3.0 * 1.4826 * mad, 0.004)
        if keep.sum() < 3:
            keep[:] = True
            break
    period, start = np.polyfit(i[keep], t[keep], 1)
    rms = float(np.sqrt(np.mean((t[keep] - (start + period * i[keep])) ** 2)))
    return float(start), float(period), rms


def grid_fit(t: np.ndarray, period_s: float) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Fit ``t = start + period * k`` with integer beat numbers ``k`` found along the way.

    Unlike :func:`robust_line`, beats need not be consecutive: a tracker that slipped half a
    beat for a bar leaves those beats off the grid (outliers) without bending it.

    Returns
    -------
    start_s, period_s : float
    k : numpy.ndarray
        Beat number of each time on the grid.
    inlier : numpy.ndarray
        Which times lie on the grid (within 10 % of a beat and 35 ms).
    """
    start, period = float(t[0]), float(period_s)
    inlier = np.ones(t.size, dtype=bool)
    k = np.zeros(t.size)
    for _ in range(4):
        k = np.round((t - start) / period)
        resid = t - (start + period * k)
        inlier = np.abs(resid) <= min(0.1 * period, SLIP_TOLERANCE_S)
        if inlier.sum() < 3 or np.unique(k[inlier]).size < 3:
            break
        period, start = np.polyfit(k[inlier], t[inlier], 1)
    return float(start), float(period), k, inlier


def _anchored_runs(beats_s: np.ndarray, cuts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join runs of long segments on one grid, with whatever short segments lie between."""
    runs: list[tuple[int, int]] = []
    for a, b in cuts:
        if b - a < MIN_GRID_BEATS:
            continue
        if runs:
            pa, pb = runs[-1]
            s0, p0, _ = robust_line(beats_s[pa:pb])
            s1, p1, _ = robust_line(beats_s[a:b])
            steps = np.round((s1 - s0) / p0)
            if abs(p1 / p0 - 1.0) < MERGE_PERIOD_TOLERANCE and abs(s0 + steps * p0 - s1) < 0.1 * p0:
                runs[-1] = (pa, b)
                continue
        runs.append((a, b))
    return runs


@dataclass(frozen=True)
class _Run:
    first: int
    stop: int
    grid_s: np.ndarray | None  # the fitted grid, None where the run is not steady


def _evidence(env: Envelope, times_s: np.ndarray) -> float:
    """Mean onset strength (smoothed over a drummer's microtiming) at the given times."""
    sigma = EVIDENCE_SMOOTH_S * env.fps
    radius = int(4.0 * sigma + 0.5)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    padded = np.pad(env.onset, radius, mode="symmetric")
    curve = np.convolve(padded, kernel / kernel.sum(), mode="valid")
    return float(np.interp(env.frames_of(times_s), np.arange(curve.size), curve).mean())


def _extension(env: Envelope, tracked_s: np.ndarray, grid_start_s: float, period_s: float,
               lo_s: float, hi_s: float) -> np.ndarray | None:
    """The grid carried over ``[lo_s, hi_s]`` in place of the tracked beats there, if it lies
    on the onsets about as well as they do (the tracker slipped), else None (the music changed).
    """
    k = np.arange(np.ceil((lo_s - grid_start_s) / period_s - 0.5),
                  np.floor((hi_s - grid_start_s) / period_s + 0.5) + 1)
    grid = grid_start_s + period_s * k
    grid = grid[(grid >= max(lo_s, 0.0)) & (grid <= hi_s)]
    if tracked_s.size == 0 or grid.size == 0:
        return None
    return grid if _evidence(env, grid) >= EXTEND_ACCEPT * _evidence(env, tracked_s) else None


def fit_grid(beats_s: np.ndarray, env: Envelope) -> tuple[np.ndarray, list[Segment]]:
    """Replace steady runs of beats by their fitted grid.

    Parameters
    ----------
    beats_s : numpy.ndarray
        Tracked beats.
    env : Envelope
        The onsets, to judge whether a grid may run on over beats outside its run.

    Returns
    -------
    beats_s : numpy.ndarray
        The beats, gridded where a run is long and steady enough (slipped beats put back on
        the grid, missing ones filled in, and the grid carried on over short pieces before and
        after it where it fits the onsets as well as the tracked beats).
    segments : list of Segment
        The runs found (gridded or not), in order.
    """
    segments: list[Segment] = []
    if beats_s.size < MIN_GRID_BEATS:
        return beats_s.copy(), segments
    runs: list[_Run] = []
    for a, b in _anchored_runs(beats_s, segment(beats_s)):
        t = beats_s[a:b]
        start, period, k, inlier = grid_fit(t, float(np.median(np.diff(t))))
        resid = t[inlier] - (start + period * k[inlier])
        rms = float(np.sqrt(np.mean(resid**2))) if resid.size else np.inf
        segments.append(Segment(a, b - 1, start + period * k.min(), period, rms))
        steady = inlier.mean() >= MIN_INLIER_SHARE and (
            rms <= TIGHT_RMS_S or (rms <= MAX_GRID_RMS_S and drift_ratio(resid) < MAX_DRIFT_RATIO))
        if not steady:
            runs.append(_Run(a, b, None))
            continue
        # beats off the grid before its first inlier or after its last are left to the
        # pieces before and after the run: carried over by the grid only where it fits them
        first, last = k[inlier].min(), k[inlier].max()
        grid = start + period * np.arange(first, last + 1)
        runs.append(_Run(a + int(np.sum(k < first)), b - int(np.sum(k > last)), grid))
    pieces: list[np.ndarray] = []
    done = 0
    for n, run in enumerate(runs):
        gap = beats_s[done:run.first]
        if run.grid_s is not None and gap.size and (n == 0 or runs[n - 1].grid_s is None):
            period = float(np.median(np.diff(run.grid_s)))
            ext = _extension(env, gap, run.grid_s[0], period, gap[0] - 0.5 * period,
                             run.grid_s[0] - 0.5 * period)
            gap = gap if ext is None else ext
        pieces.append(gap)
        pieces.append(beats_s[run.first:run.stop] if run.grid_s is None else run.grid_s)
        done = run.stop
        if run.grid_s is not None:
            nxt = runs[n + 1].first if n + 1 < len(runs) else beats_s.size
            tail = beats_s[done:nxt]
            if tail.size:
                period = float(np.median(np.diff(run.grid_s)))
                limit = beats_s[nxt] - 0.5 * period if nxt < beats_s.size else tail[-1] + 0.5 * period
                ext = _extension(env, tail, run.grid_s[-1], period, run.grid_s[-1] + 0.5 * period, limit)
                if ext is not None:
                    pieces.append(ext)
                    done = nxt
    pieces.append(beats_s[done:])
    out = np.concatenate(pieces)
    order_ok = np.all(np.diff(out) > 0.25 * np.median(np.diff(beats_s)))
    return (out if order_ok else beats_s.copy()), segments


def _window_sums(x: np.ndarray, half: int) -> np.ndarray:
    """The sum of ``x`` over ``half`` values either side of each (fewer at the ends)."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(x.size)
    return c[np.minimum(i + half + 1, x.size)] - c[np.maximum(i - half, 0)]


def toward_played(grid_s: np.ndarray, tracked_s: np.ndarray, *,
                  share: float = PLAYED_SHARE) -> np.ndarray:
    """The beats of a grid moved ``share`` of the way to the tracked beats on them.

    A tracked beat is on a grid beat when it lies within :data:`ON_BEAT_SHARE` of a beat of
    it; grid beats without one (slipped, missing, carried on) stay. Where the residuals around
    a beat (:data:`LOCAL_BEATS` either side) are as tight as
    :data:`TIGHT_RMS_S`, the music keeps strict time (a click track, a sequenced part) and
    what is left is the tracker's own error: those beats stay on the grid too.

    Parameters
    ----------
    grid_s : numpy.ndarray
        The beats from :func:`fit_grid`, ascending.
    tracked_s : numpy.ndarray
        The tracked beats the grid was fitted to, ascending.
    share : float
        How far each beat moves (0: the grid, 1: the tracked beat).
    """
    if grid_s.size < 2 or tracked_s.size == 0:
        return grid_s.copy()
    at = np.searchsorted(tracked_s, grid_s)
    left, right = tracked_s[np.maximum(at - 1, 0)], tracked_s[np.minimum(at, tracked_s.size - 1)]
    nearest = np.where(np.abs(grid_s - left) <= np.abs(grid_s - right), left, right)
    resid = nearest - grid_s
    period = np.gradient(grid_s)
    on = np.abs(resid) <= ON_BEAT_SHARE * period
    count = _window_sums(on.astype(np.float64), LOCAL_BEATS)
    local_rms = np.sqrt(_window_sums(np.where(on, resid**2, 0.0), LOCAL_BEATS) / np.maximum(count, 1.0))
    move = on & (local_rms > TIGHT_RMS_S)
    return grid_s + np.where(move, share * resid, 0.0)


def carry_played(beats_s: np.ndarray, grid_s: np.ndarray, tracked_s: np.ndarray) -> np.ndarray:
    """Beats of another metrical level than a grid's, moved as the played beats lie off it.

    Each grid beat's played deviation (the tracked beat on it, as :func:`toward_played` finds
    it, kept whole) is interpolated linearly between grid beats to every beat given: a beat
    of the new level that is a grid beat goes to where it was played, one between two grid
    beats goes by their deviations in proportion.

    Parameters
    ----------
    beats_s : numpy.ndarray
        The beats at the other level (from the grid, e.g. twice or two thirds its tempo).
    grid_s : numpy.ndarray
        The grid they were made from, ascending.
    tracked_s : numpy.ndarray
        The tracked beats the grid was fitted to, ascending.
    """
    if grid_s.size < 2:
        return np.asarray(beats_s, dtype=np.float64).copy()
    played_s = toward_played(grid_s, tracked_s, share=1.0)
    return beats_s + np.interp(beats_s, grid_s, played_s - grid_s)


def tempo_sections(
    beats_s: np.ndarray, min_change: float = 0.03, min_beats: int = 8
) -> list[tuple[float, float]]:
    """Where the tempo really changes: ``(start_s, tempo_bpm)`` of each steady section.

    Segments of :func:`segment` shorter than ``min_beats`` are ignored and neighbours whose
    tempi differ by less than ``min_change`` (relative) are merged, so one steady song gives
    one section.
    """
    if beats_s.size < 2:
        return []
    if beats_s.size < min_beats:
        return [(float(beats_s[0]), float(60.0 / np.median(np.diff(beats_s))))]
    sections: list[tuple[float, float]] = []
    for a, b in segment(beats_s):
        if b - a < min_beats:
            continue
        bpm = 60.0 / robust_line(beats_s[a:b])[1]
        if sections and abs(bpm / sections[-1][1] - 1.0) < min_change:
            continue
        sections.append((float(beats_s[a]), float(bpm)))
    return sections
