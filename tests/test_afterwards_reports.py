"""What a drummer gets after playing (HTML report, keepsake card, the duet command's lines) for
takes at the edges: a duet with no note both played, long names, long takes.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
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


def drawn_card(duet, title: str):
    """The card figure drawn as its PNG is, and each text's box in pixels."""
    fig = card_figure(saved(duet, title))
    canvas = FigureCanvasAgg(fig)  # the PNG's canvas
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = {t.get_text(): t.get_window_extent(renderer) for t in fig.texts if t.get_text()}
    return fig, boxes, fig.axes[0].get_tightbbox(renderer)


def starts(shown: str, full: str) -> bool:
    """Whether ``shown`` is ``full``, or its start cut with an ellipsis."""
    return shown == full or (shown.endswith("…") and full.startswith(shown[:-1]))


@pytest.mark.parametrize(("name", "title", "name_cut", "title_cut"), [
    ("Alexandra Konstantinopoulou-Wittgenstein", "A Very Long Song Title That Goes On And On Forever",
     False, True),
    ("W" * 300, "T" * 300, True, True),
    ("<script>alert(1)</script>", "<b>x</b> $5 song", False, False),
])
def test_card_texts_stay_on_the_card_and_off_the_timeline(name, title, name_cut, title_cut):
    """A long title or name ran over the timeline and off the card's edge."""
    ann = Take((Hit(1.0, "kick"), Hit(2.0, "snare")), player=name, beatmap=BM)
    bob = Take((Hit(1.01, "kick"), Hit(2.03, "snare")), player="Bob", beatmap=BM)
    duet = analyse_duet(ann, bob, CHART)
    fig, boxes, timeline = drawn_card(duet, title)
    for text, box in boxes.items():
        assert 0 <= box.x0 and box.x1 <= 1200 and 0 <= box.y0 and box.y1 <= 630, text
        if box.y0 > 0.15 * 630:  # beside the timeline, not below it
            assert box.x1 < timeline.x0, (text, box.x1, timeline.x0)
    shown = [t.get_text().replace(r"\$", "$") for t in fig.texts]
    # drumjam, title, names · date, name, figures, Bob, figures, Together, figures, summary
    assert starts(shown[1], title) and shown[1].endswith("…") == title_cut
    first, second = shown[2].removesuffix(" · 01 May 2025").split(" & ")
    assert starts(first, name) and second == "Bob"
    assert starts(shown[3], name) and shown[3].endswith("…") == name_cut and shown[5] == "Bob"
    squeezed = "".join(shown[-1].rstrip("… ").split())  # wrapped where it may, maybe cut
    assert "".join(duet.summary.split()).startswith(squeezed) and len(squeezed) > 40
    plt.close("all")


def test_a_short_card_is_drawn_as_written():
    ann = Take((Hit(1.0, "kick"), Hit(2.0, "snare")), player="Ann", beatmap=BM)
    bob = Take((Hit(1.01, "kick"), Hit(2.03, "snare")), player="Bob", beatmap=BM)
    duet = analyse_duet(ann, bob, CHART)
    fig, boxes, _ = drawn_card(duet, "Slow funk")
    assert {"Slow funk", "Ann & Bob · 01 May 2025", "Ann", "Bob"} <= set(boxes)
    assert next(t for t in fig.texts if t.get_text() == "Slow funk").get_fontsize() == 26
    assert fig.texts[-1].get_text().replace("\n", " ") == duet.summary
    plt.close("all")


def test_chinese_and_japanese_names_are_drawn_on_the_card_not_as_boxes():
    """Players called 鼓手 and ドラマー on a song called 森の歌: every letter has a glyph (the
    fallback font scripts/install.sh installs), so the card draws with no 'Glyph missing'."""
    import io
    import warnings

    from drumjam.report.mpltext import use_fallback_fonts

    assert len(use_fallback_fonts()) == 2, "no font with CJK letters: run scripts/install.sh"
    ann = Take((Hit(1.0, "kick"), Hit(2.0, "snare")), player="鼓手", beatmap=BM)
    bob = Take((Hit(1.01, "kick"), Hit(2.03, "snare")), player="ドラマー", beatmap=BM)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing")
        fig = card_figure(saved(analyse_duet(ann, bob, CHART), "森の歌"))
        fig.savefig(io.BytesIO(), format="png")
    assert {"鼓手", "ドラマー", "森の歌"} <= {t for t in card_texts(fig)} | {
        w for t in card_texts(fig) for w in t.split()}
