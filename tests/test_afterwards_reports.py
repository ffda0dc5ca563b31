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


LONG = "Alexandra Konstantinopoulou-Wittgenstein"  # 40 characters: the most the web app keeps


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


@pytest.mark.parametrize("name", [LONG, "W" * 5000])
def test_long_names_leave_the_figures_their_size(name, monkeypatch):
    """A figure grows to hold its labels: 40-letter names made the per-bar figure 849 px tall
    and the timeline 1,031 px wide, 5,000 letters a 180,261 px wide timeline and a 150,200 px
    tall per-bar figure; names are cut in figures, and whole in the text."""
    from drumjam.report import figures

    pngs, figs = [], []

    def keep(fig):
        figs.append(fig)
        pngs.append(render(fig))
        return pngs[-1]

    render = figures._png
    monkeypatch.setattr(figures, "_png", keep)
    ann = Take((Hit(1.0, "kick"), Hit(2.0, "snare"), Hit(2.6, "crash")), player=name, beatmap=BM)
    bob = Take((Hit(1.01, "kick"), Hit(2.03, "snare")), player="B" + name, beatmap=BM)
    page = duet_report_html(analyse_duet(ann, bob, CHART))
    assert f"<h2>{name}</h2>" in page and f"<h2>B{name}</h2>" in page  # the text keeps all
    timeline, per_bar, per_voice = figs
    for png in pngs:  # 939 x 397, 939 x 384 and 926 x 373 px with the names Ann and Bob
        width, height = png_size(png)
        assert width <= 1000 and height <= 420, (width, height)
    cut = name[:23] + "…"
    assert [t.get_text() for t in per_voice.axes[0].get_legend().get_texts()] == [cut, "B" + cut[:-2] + "…"]
    labels = [t.get_text() for t in timeline.axes[0].get_legend().get_texts()]
    assert labels == ["±20 ms", cut, name[:11] + "…: extra hits", "B" + cut[:-2] + "…"]
    assert per_bar.axes[0].get_title() == f"Asynchrony per bar\n{cut} later ↑ / B{cut[:-2]}… later ↓"
    plt.close("all")
