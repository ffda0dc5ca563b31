"""A take that goes on long after its beat map ends is scored live as offline: the live grid
grows with the hits, as the offline grid is extended to cover every one."""

from __future__ import annotations

import numpy as np

from drumjam.model import BeatMap, Hit, Take
from drumjam.scoring import Judgment, LiveScorer, score_take

BM = BeatMap.constant(120.0, 8.0)  # 17 beats, the grid's 16th notes 125 ms apart
STEP_S = 0.125


def _take(beats_past_end: float) -> Take:
    """Snare hits 10 ms late on the 16th grid in runs spread until ``beats_past_end`` beats
    after the beat map's last beat, a kick 40 ms early at the very end."""
    rng = np.random.default_rng(7)
    end_s = float(BM.beats_s[-1]) + beats_past_end * 0.5
    starts = np.sort(rng.uniform(0.0, end_s, 40))
    times = sorted({round(float(s) / STEP_S) * STEP_S + k * STEP_S for s in starts for k in range(3)})
    hits = [Hit(t + 0.010, "snare") for t in times] + [Hit(round(end_s / STEP_S) * STEP_S - 0.040, "kick")]
    return Take(tuple(sorted(hits, key=lambda h: h.time_s)), beatmap=BM)


def test_hits_far_past_the_beat_map_end_are_on_the_grid_live_and_offline() -> None:
    take = _take(beats_past_end=3000.0)  # 25 minutes after a 8 s beat map
    live = LiveScorer(grid=16, beatmap=BM)
    verdicts = [live.add(h) for h in take.hits]
    # every hit lands 10 ms late (or the last kick 40 ms early) on a grid position, live too
    offsets = [v.offset_ms for v in verdicts]
    assert None not in offsets
    assert np.allclose(offsets[:-1], 10.0) and np.isclose(offsets[-1], -40.0)
    assert all(v.judgment is not Judgment.EXTRA for v in verdicts)
    offline = score_take(take, grid=16)
    assert offline.overall.extra == 0
    assert live.finish().to_dict(with_hits=True) == offline.to_dict(with_hits=True)


def test_hits_out_of_order_across_many_extensions_score_as_offline() -> None:
    take = _take(beats_past_end=2000.0)
    order = np.argsort(take.times_s() + np.random.default_rng(3).normal(0, 0.003, len(take)))
    live = LiveScorer(grid=16, beatmap=BM)
    for i in order:
        live.add(take.hits[i])
    final = live.finish()
    assert final.overall.extra == 0
    assert final.to_dict(with_hits=True) == score_take(take, grid=16).to_dict(with_hits=True)
