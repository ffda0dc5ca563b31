"""Lessons: a teacher's groove becomes a pattern, a tempo plan and feedback for the student.

The names below load their module on first use (``lazy_loader``): the command line reads the
trainer's defaults (:mod:`drumjam.lesson.config`) without the scoring stack.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "config": ["PassCriteria", "TrainerConfig", "check_tempo"],
    "feedback": ["Remark", "position_name"],
    "grid": ["GridKind", "choose_grid"],
    "notation": ["pattern_musicxml", "pattern_svg", "render_pattern_files"],
    "pattern": ["Pattern", "PatternNote", "excerpt", "extract_pattern", "parse_bars",
                "pattern_match"],
    "trainer": ["AttemptResult", "Decision", "TrainerState", "decide", "evaluate_attempt",
                "start"],
})
