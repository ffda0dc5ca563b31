"""Scoring: matching hits to targets, judgments, timing statistics, duet synchrony.

The names below load their module on first use (``lazy_loader``): :mod:`drumjam.scoring.config`
is read without SciPy.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "config": ["Judgment", "ScoringConfig"],
    "duet": ["BarSync", "DuetResult", "analyse_duet"],
    "live": ["LiveScorer"],
    "phase": ["PhaseCorrection", "phase_correction"],
    "quantize": ["quantize_take"],
    "stats": ["TimingStats"],
    "take": ["HitResult", "TakeScore", "score_take"],
})
