"""Lessons: a teacher's groove becomes a pattern, a tempo plan and feedback for the student."""

from drumjam.lesson.feedback import Remark, position_name
from drumjam.lesson.grid import GridKind, choose_grid
from drumjam.lesson.notation import pattern_musicxml, pattern_svg, render_pattern_files
from drumjam.lesson.pattern import (
    Pattern,
    PatternNote,
    excerpt,
    extract_pattern,
    parse_bars,
    pattern_match,
)
from drumjam.lesson.trainer import (
    AttemptResult,
    Decision,
    PassCriteria,
    TrainerConfig,
    TrainerState,
    decide,
    evaluate_attempt,
    start,
)

__all__ = [
    "AttemptResult",
    "Decision",
    "GridKind",
    "PassCriteria",
    "Pattern",
    "PatternNote",
    "Remark",
    "TrainerConfig",
    "TrainerState",
    "choose_grid",
    "decide",
    "evaluate_attempt",
    "excerpt",
    "extract_pattern",
    "parse_bars",
    "pattern_match",
    "pattern_musicxml",
    "pattern_svg",
    "position_name",
    "render_pattern_files",
    "start",
]
