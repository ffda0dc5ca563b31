"""What a drummer gets after playing (HTML report, keepsake card, the duet command's lines) for
takes at the edges: a duet with no note both played, long names, long takes.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import matplotlib.pyplot as plt
import pytest
from matplotlib.text import Text

from drumjam.cli.scoring_cmds import _print_duet, console
from drumjam.model import BeatMap, Chart, Hit, Note, Take
from drumjam.report import duet_report_html
from drumjam.report.card import card_figure
from drumjam.scoring import analyse_duet

BM = BeatMap.constant(120, 8)
CHART = Chart((Note(1.0, "kick"), Note(2.0, "snare"), Note(3.0, "kick")), BM)


def saved(duet, title: str = "Slow funk") -> dict:
    """A saved session of a duet, as the history keeps it."""
    return {"song_title": title, "created_at": datetime(2025, 5, 1, tzinfo=timezone.utc).isoformat(),
            "results": {"players": [{"name": s.player, "score": s.to_dict(with_hits=True)}
                                    for s in duet.players],
                        "duet": duet.to_dict(), "summary": duet.summary}}


def card_texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


@pytest.fixture
def apart():
    """Ann plays two notes of the chart, Bob only a crash that matches none."""
    ann = Take((Hit(1.0, "kick"), Hit(2.0, "snare")), player="Ann", beatmap=BM)
    bob = Take((Hit(1.25, "crash"),), player="Bob", beatmap=BM)
    return analyse_duet(ann, bob, CHART)


@pytest.fixture
def together():
    ann = Take((Hit(1.0, "kick"), Hit(2.0, "snare")), player="Ann", beatmap=BM)
    bob = Take((Hit(1.01, "kick"), Hit(2.03, "snare")), player="Bob", beatmap=BM)
    return analyse_duet(ann, bob, CHART)


def test_no_shared_note_is_no_share_within_20_ms(apart, together, capsys):
    assert apart.async_ms.size == 0 and apart.within_20ms == 0.0  # what scoring gives
    page = duet_report_html(apart)
    assert re.search(r"<b>([^<]*)</b>within ±20 ms", page).group(1) == "–"  # was 0%
    assert re.search(r"<b>([^<]*)</b>within ±20 ms", duet_report_html(together)).group(1) == "50%"

    fig = card_figure(saved(apart))
    assert "no note played by both to compare" in card_texts(fig)  # was "apart – ..., 0% of notes"
    assert not any("within 20 ms" in t for t in card_texts(fig))
    fig = card_figure(saved(together))
    assert "apart -20 ms on average, 50% of notes within 20 ms" in card_texts(fig)
    plt.close("all")

    with console.capture() as out:
        _print_duet(apart)
    assert "within ±20 ms – ·" in out.get()
    with console.capture() as out:
        _print_duet(together)
    assert "within ±20 ms 50% ·" in out.get()
