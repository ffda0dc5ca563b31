"""Scoring: matching hits to targets, judgments, timing statistics, duet synchrony."""

from drumjam.scoring.config import Judgment, ScoringConfig
from drumjam.scoring.duet import BarSync, DuetResult, analyse_duet
from drumjam.scoring.live import LiveScorer
from drumjam.scoring.phase import PhaseCorrection, phase_correction
from drumjam.scoring.quantize import quantize_take
from drumjam.scoring.stats import TimingStats
from drumjam.scoring.take import HitResult, TakeScore, score_take

__all__ = [
    "BarSync", "DuetResult", "HitResult", "Judgment", "LiveScorer", "PhaseCorrection",
    "ScoringConfig", "TakeScore", "TimingStats", "analyse_duet", "phase_correction",
    "quantize_take", "score_take",
]
