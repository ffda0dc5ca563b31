"""One-to-one matching of hit times to target times within windows.

The matching maximises the number of matched pairs, then minimises the total absolute offset.
Hits and targets form a bipartite graph (a hit may match a target whose window contains it);
because windows are intervals whose starts and ends both increase with the target time, each
hit's candidates are a contiguous run of targets and the graph splits into small connected
components along time. Components with one target (nearly all of them) are solved in bulk with
numpy; the rare larger ones exactly with the Hungarian algorithm, or, past a size only
adversarial input reaches, by a dynamic programme linear in their candidate pairs. The same component solver serves the live scorer, so live and
offline results are identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

_UNMATCHED = -1


@dataclass(frozen=True)
class Windows:
    """Per-target matching windows ``[target - early_s, target + late_s]``."""

    start_s: np.ndarray
    end_s: np.ndarray


def target_windows(targets_s: np.ndarray, window_s: float, tempo_aware: bool) -> Windows:
    """Matching windows for sorted targets of one voice group.

    Parameters
    ----------
    targets_s : numpy.ndarray
        Sorted target times in seconds.
    window_s : float
        Largest distance a matched hit may be from its target.
    tempo_aware : bool
        Limit each side of a window to half the gap to the neighbouring target.
    """
    early = np.full(targets_s.shape, window_s)
    late = np.full(targets_s.shape, window_s)
    if tempo_aware and targets_s.size > 1:
        # half the gap to the nearest *different* time before and after (simultaneous targets
        # of one group, e.g. two crashes, share their window)
        prev_i = np.searchsorted(targets_s, targets_s, side="left") - 1
        next_i = np.searchsorted(targets_s, targets_s, side="right")
        has_prev = prev_i >= 0
        has_next = next_i < targets_s.size
        early[has_prev] = np.minimum(window_s, (targets_s - targets_s[prev_i])[has_prev] / 2.0)
        nxt = np.minimum(next_i, targets_s.size - 1)
        late[has_next] = np.minimum(window_s, (targets_s[nxt] - targets_s)[has_next] / 2.0)
    return Windows(targets_s - early, targets_s + late)


def candidate_ranges(hits_s: np.ndarray, windows: Windows) -> tuple[np.ndarray, np.ndarray]:
    """For each hit, the half-open range ``[lo, hi)`` of targets whose window contains it."""
    hi = np.searchsorted(windows.start_s, hits_s, side="right")
    lo = np.searchsorted(windows.end_s, hits_s, side="left")
    return lo, np.maximum(hi, lo)


def component_breaks(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Boolean per hit: True where a new component starts (no target shared with the previous).

    Hits without candidates each form their own component.
    """
    starts = np.ones(lo.size, dtype=bool)
    if lo.size > 1:
        has = hi > lo
        starts[1:] = (lo[1:] >= hi[:-1]) | ~has[1:] | ~has[:-1]
    return starts


#: Largest component (hits x candidate targets) solved with the Hungarian algorithm; larger
#: ones, which only adversarial or absurdly dense input makes, go through the dynamic programme.
DENSE_CELLS = 4096


def solve_component(
    hits_s: np.ndarray, targets_s: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Exact matching of one component: the most matches, then the least total distance.

    Small components are solved with the Hungarian algorithm, larger ones with
    :func:`_solve_in_order`, whose time and memory grow linearly with the candidate pairs;
    both find the same optimum (they may differ only where several matchings tie exactly).

    Parameters
    ----------
    hits_s : numpy.ndarray
        Hit times of the component.
    targets_s : numpy.ndarray
        All target times of the group.
    lo, hi : numpy.ndarray
        Candidate ranges of the component's hits.

    Returns
    -------
    numpy.ndarray
        Target index per hit, -1 where unmatched.
    """
    out = np.full(hits_s.size, _UNMATCHED, dtype=np.int64)
    t0, t1 = int(lo.min()), int(hi.max())
    if t1 <= t0:
        return out
    if t1 - t0 == 1:
        best = int(np.argmin(np.abs(hits_s - targets_s[t0])))
        out[best] = t0
        return out
    if hits_s.size * (t1 - t0) > DENSE_CELLS:
        return _solve_in_order(hits_s, targets_s, lo, hi)
    cols = np.arange(t0, t1)
    dist = np.abs(hits_s[:, None] - targets_s[None, t0:t1])
    feasible = (cols[None, :] >= lo[:, None]) & (cols[None, :] < hi[:, None])
    # every match is worth more than any possible total of distances, so the assignment first
    # maximises the number of matches, then minimises the summed distance
    big = 1.0 + 2.0 * float(dist[feasible].sum())
    cost = np.where(feasible, dist - big, 0.0)
    rows, picked = linear_sum_assignment(cost)
    ok = feasible[rows, picked]
    out[rows[ok]] = cols[picked[ok]]
    return out


def _solve_in_order(
    hits_s: np.ndarray, targets_s: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Exact matching of a large component by dynamic programming over the hits in time order.

    Windows are intervals whose starts and ends increase with the target time, so some best
    matching never crosses (an earlier hit never takes a later target than a later hit). The
    state is the last target taken; every target before the current hit's candidates is one
    state. Ties keep the earlier hit.
    """
    out = np.full(hits_s.size, _UNMATCHED, dtype=np.int64)
    # a state: (matches, -total distance, chain of (hit, target, previous link))
    below: tuple = (0, 0.0, None)  # the best state whose last target lies before ``a``
    states: dict[int, tuple] = {}  # last target taken -> the best state ending there
    times = hits_s.tolist()
    target_times = targets_s.tolist()
    for i in np.argsort(hits_s, kind="stable").tolist():
        a, b = int(lo[i]), int(hi[i])
        for j in [j for j in states if j < a]:
            state = states.pop(j)
            if state[:2] > below[:2]:
                below = state
        run = below
        updates = []
        for j in range(a, b):
            old = states.get(j)
            cand = (run[0] + 1, run[1] - abs(times[i] - target_times[j]), (i, j, run[2]))
            if old is None or cand[:2] > old[:2]:
                updates.append((j, cand))
            if old is not None and old[:2] > run[:2]:
                run = old
        states.update(updates)
    best = below
    for state in states.values():
        if state[:2] > best[:2]:
            best = state
    link = best[2]
    while link is not None:
        i, j, link = link
        out[i] = j
    return out


def match_times(hits_s: np.ndarray, targets_s: np.ndarray, windows: Windows) -> np.ndarray:
    """Match sorted hits to sorted targets of one group.

    Returns
    -------
    numpy.ndarray
        For each hit, the index of its target, or -1 for an extra hit.
    """
    n = hits_s.size
    out = np.full(n, _UNMATCHED, dtype=np.int64)
    if n == 0 or targets_s.size == 0:
        return out
    lo, hi = candidate_ranges(hits_s, windows)
    starts = component_breaks(lo, hi)
    bounds = np.flatnonzero(starts)
    comp = np.cumsum(starts) - 1
    width = np.maximum.reduceat(hi, bounds) - np.minimum.reduceat(lo, bounds)
    # bulk case: the component has exactly one target -> the nearest of its hits takes it
    single = (width == 1)[comp]
    if single.any():
        idx = np.flatnonzero(single)
        dist = np.abs(hits_s[idx] - targets_s[lo[idx]])
        c = comp[idx]
        c_start = np.flatnonzero(np.concatenate(([True], c[1:] != c[:-1])))
        best = np.minimum.reduceat(dist, c_start)
        is_best = dist == np.repeat(best, np.diff(np.append(c_start, idx.size)))
        first = np.flatnonzero(is_best)
        first = first[np.concatenate(([True], c[first][1:] != c[first][:-1]))]
        winners = idx[first]
        out[winners] = lo[winners]
    multi = np.flatnonzero(width > 1)
    if multi.size:
        ends = np.append(bounds[1:], n)
        for c in multi:
            a, b = bounds[c], ends[c]
            out[a:b] = solve_component(hits_s[a:b], targets_s, lo[a:b], hi[a:b])
    return out
