"""Write the scoring regression fixtures: tests/fixtures/scoring/*.json.

Each fixture holds the inputs (a Groove MIDI take, how it is scored) and the expected
summary. Rerun only when a scoring change is intended, and review the diff:

    python scripts/make_scoring_fixtures.py
"""

from __future__ import annotations

import json
from pathlib import Path

from drumjam.io.midi import read_take
from drumjam.scoring import analyse_duet, quantize_take, score_take

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "groove-midi"
OUT = ROOT / "tests" / "fixtures" / "scoring"

CASES = [
    {"name": "funk1_grid16", "take": "drummer1/eval_session/1_funk-groove1_138_beat_4-4.mid", "grid": 16},
    {"name": "shuffle_grid12", "take": "drummer1/session1/51_rock-shuffle_125_beat_4-4.mid", "grid": 12},
    {"name": "waltz_chart8", "take": "drummer1/session2/1_latin-chacarera_157_beat_3-4.mid", "chart_grid": 8},
    {"name": "duet_soul3", "take": "drummer1/eval_session/3_soul-groove3_86_beat_4-4.mid",
     "partner": "drummer7/eval_session/3_soul-groove3_86_beat_4-4.mid", "grid": 16},
]


def expected(case: dict) -> dict:
    """The summary drumjam gives for one case today."""
    take = read_take(DATA / case["take"], player="A")
    if "partner" in case:
        partner = read_take(DATA / case["partner"], player="B")
        return analyse_duet(take, partner, grid=case["grid"]).to_dict()
    if "chart_grid" in case:
        return score_take(take, quantize_take(take, subdivision=case["chart_grid"])).to_dict()
    return score_take(take, grid=case["grid"]).to_dict()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        path = OUT / f"{case['name']}.json"
        path.write_text(json.dumps({"case": case, "expected": expected(case)}, indent=1) + "\n")
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
