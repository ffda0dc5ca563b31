"""The library's entry points refuse things of the wrong kind by name, not deep inside."""

from __future__ import annotations

from pathlib import Path

import pytest

from drumjam.errors import InputError
from drumjam.io.midi import write_midi
from drumjam.model import BeatMap, Chart, Hit, Note, Take
from drumjam.scoring import ScoringConfig, analyse_duet, score_take
from drumjam.session.live import Player

BM = BeatMap.constant(120, 4)
TAKE = Take((Hit(0.5, "kick"),), beatmap=BM)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Take([0.1, 0.2]), "a take holds Hit objects, got float"),
    (lambda: Chart((Hit(0.5, "kick"),), BM), "a chart holds Note objects, got Hit"),
    (lambda: Chart((Note(0.5, "kick"),), None), "a chart's notes stand on a BeatMap, got NoneType"),
    (lambda: Take((Hit(0.5, "kick"),), beatmap={"beats": [0, 1]}), "a take's beat map is a BeatMap"),
    (lambda: ScoringConfig(perfect_ms="10"), "perfect_ms '10' is not a number of ms"),
    (lambda: ScoringConfig(good_ms=True), "good_ms True is not a number of ms"),
    (lambda: Player("Ann", "soon"), "latency soon ms for 'Ann' is out of range"),
    (lambda: score_take([Hit(0.5, "kick")], grid=16), "a take to score is a Take, got list"),
    (lambda: score_take(TAKE, "song.mid"), "a chart to score against is a Chart, got str"),
    (lambda: analyse_duet(TAKE, [Hit(0.5, "kick")]), "a duet is of two Takes, got list"),
])
def test_the_wrong_kind_of_thing_is_named(make, message) -> None:
    with pytest.raises(InputError, match=message):
        make()


def test_midi_is_not_written_to_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder; give a file name"):
        write_midi(tmp_path, TAKE)
    assert list(tmp_path.iterdir()) == []
    assert write_midi(tmp_path / "take.mid", TAKE).stat().st_size > 0
