"""Matching, judgments and statistics of single takes."""

from __future__ import annotations

import itertools
from pathlib import Path

import mir_eval
import numpy as np
import pytest

from drumjam.errors import ChartError, InputError
from drumjam.io.midi import read_take
from drumjam.model import BeatMap, Chart, Hit, Note, Take
from drumjam.scoring import Judgment, LiveScorer, ScoringConfig, quantize_take, score_take
from drumjam.scoring.matching import match_times, target_windows
from drumjam.scoring.targets import hit_keys

BM = BeatMap.constant(120.0, 8.0)


def _chart(times: list[float], voice: str = "snare") -> Chart:
    return Chart(tuple(Note(t, voice) for t in times), BM)


def test_offsets_and_judgments_on_a_known_take() -> None:
    chart = _chart([0.5, 1.0, 1.5, 2.0, 2.5])
    take = Take(tuple(Hit(t, "snare") for t in (0.510, 0.970, 1.540, 2.300)), beatmap=BM)
    score = score_take(take, chart)
    offsets = [None if h.offset_ms is None else round(h.offset_ms, 6) for h in score.hits]
    assert offsets == [10.0, -30.0, 40.0, None]
    assert [h.judgment for h in score.hits] == [Judgment.PERFECT, Judgment.GREAT, Judgment.GREAT,
                                                Judgment.EXTRA]
    assert score.missed == [3, 4]
    o = score.overall
    assert (o.matched, o.missed, o.extra) == (3, 2, 1)
    assert o.mean_offset_ms == pytest.approx((10 - 30 + 40) / 3)
    assert o.sd_offset_ms == pytest.approx(np.std([10, -30, 40], ddof=1))
    assert o.median_abs_offset_ms == pytest.approx(30.0)


def test_any_voice_of_a_group_matches_unless_strict() -> None:
    chart = _chart([0.5], "hihat_closed")
    take = Take((Hit(0.505, "hihat_open"),), beatmap=BM)
    assert score_take(take, chart).overall.matched == 1
    strict = score_take(take, chart, config=ScoringConfig(strict_voices=True))
    assert (strict.overall.matched, strict.overall.missed, strict.overall.extra) == (0, 1, 1)


def test_matching_maximises_matches_where_greedy_fails() -> None:
    cfg = ScoringConfig(good_ms=90, tempo_aware=False)
    chart = _chart([1.0, 1.1])
    take = Take((Hit(1.06, "snare"), Hit(1.11, "snare")), beatmap=BM)
    score = score_take(take, chart, config=cfg)
    assert score.overall.matched == 2  # nearest-first would give 1.06 -> 1.1 and lose 1.11
    assert [round(h.offset_ms) for h in score.hits] == [60, 10]


def _brute_force(hits: np.ndarray, targets: np.ndarray, window: float) -> tuple[int, float]:
    best = (0, 0.0)
    for k in range(min(len(hits), len(targets)), 0, -1):
        found = None
        for hs in itertools.combinations(range(len(hits)), k):
            for ts in itertools.permutations(range(len(targets)), k):
                d = np.abs(hits[list(hs)] - targets[list(ts)])
                if np.all(d <= window):
                    cost = float(d.sum())
                    if found is None or cost < found:
                        found = cost
        if found is not None:
            return k, found
    return best


def test_matching_is_optimal_on_random_cases() -> None:
    rng = np.random.default_rng(3)
    window = 0.05
    for _ in range(150):
        targets = np.sort(rng.uniform(0, 0.4, rng.integers(1, 5)))
        hits = np.sort(rng.uniform(0, 0.4, rng.integers(1, 5)))
        got = match_times(hits, targets, target_windows(targets, window, tempo_aware=False))
        ok = got >= 0
        assert len(set(got[ok])) == ok.sum()  # one-to-one
        n, cost = _brute_force(hits, targets, window)
        assert ok.sum() == n
        assert np.abs(hits[ok] - targets[got[ok]]).sum() == pytest.approx(cost, abs=1e-12)


def test_tempo_aware_window_never_passes_half_the_gap() -> None:
    # 32nd notes at 120 BPM: 62.5 ms apart, so a window reaches at most 31.25 ms
    chart = _chart(list(0.5 + np.arange(4) * 0.0625))
    late = Take((Hit(0.5 + 0.040, "snare"),), beatmap=BM)
    score = score_take(late, chart)
    assert score.hits[0].target_time_s == pytest.approx(0.5625)  # nearer to the next note
    assert score.hits[0].offset_ms == pytest.approx(-22.5)
    loose = score_take(late, chart, config=ScoringConfig(tempo_aware=False))
    assert loose.hits[0].offset_ms == pytest.approx(-22.5)


def test_grid_scoring_at_each_subdivision() -> None:
    for sub, step in [(4, 0.5), (8, 0.25), (16, 0.125), (12, 0.5 / 3), (24, 0.5 / 6)]:
        n = np.arange(1, 20)
        offsets_ms = np.tile([-12.0, 7.0, 3.0, -1.0], 5)[: n.size]
        take = Take(tuple(Hit(t, "kick") for t in n * step + offsets_ms / 1000), beatmap=BM)
        score = score_take(take, grid=sub)
        assert np.allclose(score.offsets_ms(), offsets_ms), sub
        assert score.overall.missed == 0 and score.overall.extra == 0


def test_drift_and_dynamics() -> None:
    bm = BeatMap.constant(120.0, 40.0)
    times, vel = [], []
    for bar in range(16):
        for beat in range(4):
            times.append(bm.to_seconds(bar * 4 + beat) + 0.002 * bar)  # 2 ms later each bar
            vel.append(120 if beat == 0 else (30 if beat == 3 else 80))
    take = Take(tuple(Hit(t, "snare", v) for t, v in zip(times, vel)), beatmap=bm)
    stats = score_take(take, grid=4).overall
    assert stats.drift_ms_per_bar == pytest.approx(2.0, abs=1e-6)
    assert stats.accents == 16 and stats.ghost_notes == 16
    assert stats.velocity_cv == pytest.approx(0.0)


def test_no_overlap_and_no_grid_are_clear_errors() -> None:
    chart = _chart([0.5, 1.0])
    far = Take((Hit(100.0, "snare"),), beatmap=BM)
    with pytest.raises(ChartError, match="do not overlap"):
        score_take(far, chart)
    with pytest.raises(InputError, match="no beat map"):
        score_take(Take((Hit(1.0, "snare"),)), grid=16)
    with pytest.raises(InputError, match="timing windows"):
        ScoringConfig(perfect_ms=50, great_ms=20)


def _gmd_eval_files(groove_midi: Path) -> list[Path]:
    return sorted((groove_midi / "drummer1" / "eval_session").glob("*.mid"))


def test_match_count_equals_mir_eval_on_groove_midi(groove_midi: Path) -> None:
    cfg = ScoringConfig(good_ms=50, tempo_aware=False)
    for path in _gmd_eval_files(groove_midi) + sorted((groove_midi / "drummer5" / "eval_session").glob("*.mid")):
        take = read_take(path)
        chart = quantize_take(take, subdivision=16)
        ours = score_take(take, chart, config=cfg).overall.matched
        keys = hit_keys(take, False)
        chart_keys = hit_keys(Take(tuple(Hit(n.time_s, n.voice) for n in chart.notes)), False)
        theirs = 0
        for key in set(keys):
            ref = chart.times_s()[chart_keys == key]
            est = take.times_s()[keys == key]
            theirs += len(mir_eval.util.match_events(ref, est, 0.05))
        assert ours == theirs, path.name


def test_live_scoring_equals_offline(groove_midi: Path) -> None:
    rng = np.random.default_rng(0)
    for path in _gmd_eval_files(groove_midi)[:5]:
        take = read_take(path)
        chart = quantize_take(take, subdivision=8)  # a coarse chart leaves extra hits
        for kwargs in ({"chart": chart}, {"grid": 16, "beatmap": take.beatmap}):
            live = LiveScorer(**kwargs, player=take.player)
            for hit in take.hits:
                verdict = live.add(hit)
                assert verdict.judgment in set(Judgment)
            offline = score_take(take, kwargs.get("chart"), grid=kwargs.get("grid"))
            assert live.finish().to_dict(with_hits=True) == offline.to_dict(with_hits=True)
        # hits that arrive slightly out of order give the same final result too
        order = np.argsort(take.times_s() + rng.normal(0, 0.003, len(take)))
        live = LiveScorer(chart, player=take.player)
        for i in order:
            live.add(take.hits[i])
        assert live.finish().to_dict(with_hits=True) == score_take(take, chart).to_dict(with_hits=True)


def test_quantize_take_puts_notes_on_the_grid(groove_midi: Path) -> None:
    take = read_take(_gmd_eval_files(groove_midi)[0])
    chart = quantize_take(take, subdivision=16)
    steps = chart.notes_beats() * 4
    assert np.allclose(steps, np.round(steps))
    assert 0.9 * len(take) <= len(chart) <= len(take)
