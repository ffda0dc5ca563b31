"""Scoring regression fixtures (made by scripts/make_scoring_fixtures.py): the same inputs give
the same figures, so a change in a number is always a decision, never an accident."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "scoring").glob("*.json"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from make_scoring_fixtures import expected  # noqa: E402


def _same(got: object, want: object, where: str) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), where
        for key in want:
            _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, abs=1e-6), where
    else:
        assert got == want, where


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_scoring_matches_its_fixture(fixture: Path) -> None:
    data = json.loads(fixture.read_text())
    _same(expected(data["case"]), data["expected"], fixture.stem)


def test_there_are_fixtures() -> None:
    assert len(FIXTURES) >= 4
