"""People's names and titles in reports and cards are drawn as written, never as mathtext.

A player called ``$$`` or ``J$^$`` made matplotlib raise (ParseException) while drawing a
take report, so the web app's results page failed; ``$x^2$`` was drawn as a formula; and
``_ann`` vanished from the legends (matplotlib leaves out labels starting with ``_``).
"""

from __future__ import annotations

import html
import io
from datetime import datetime, timezone

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from drumjam.model import BeatMap, Hit, Take
from drumjam.report import duet_report_html, take_report_html
from drumjam.report import figures
from drumjam.report.card import card_figure, write_card
from drumjam.report.mpltext import legend, literal
from drumjam.scoring import analyse_duet, score_take

NAMES = ["$$", "$x^2$", "_ann", "J$^$", r"a\$b"]
BM = BeatMap.constant(120, 4)


def shown(text: Text) -> str:
    """What matplotlib draws for a text object: it must not be read as mathtext."""
    # Text.draw passes the text through _preprocess_math; (s, False) means s is drawn as is.
    s, is_math = text._preprocess_math(text.get_text())
    assert is_math is False, f"{text.get_text()!r} is drawn as mathtext"
    return s


def drawn_texts(fig: Figure) -> list[str]:
    return [shown(t) for t in fig.findobj(Text) if t.get_text()]


def legend_texts(fig: Figure) -> list[list[str]]:
    return [[shown(t) for t in ax.get_legend().get_texts()] for ax in fig.axes
            if ax.get_legend() is not None]


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """Every figure a report draws, kept open (they are rendered to PNG all the same)."""
    figs: list[Figure] = []
    render = figures._png

    def keep(fig: Figure) -> bytes:
        figs.append(fig)
        return render(fig)  # draws the PNG, so a name matplotlib cannot draw raises here

    monkeypatch.setattr(figures, "_png", keep)
    yield figs
    plt.close("all")


def take_of(player: str, shift_s: float = 0.0) -> Take:
    hits = (Hit(0.5 + shift_s, "kick"), Hit(1.0 + shift_s, "snare"), Hit(1.51, "kick"),
            Hit(2.02 + shift_s, "snare"), Hit(2.3, "hihat_closed"))
    return Take(hits, player=player, beatmap=BM)


def test_literal_escapes_every_dollar_and_nothing_else():
    assert literal("$x^2$") == r"\$x^2\$"
    assert literal("_ann") == "_ann"
    assert literal(7) == "7"


@pytest.mark.parametrize("name", ["_ann", "__", "_"])
def test_legend_shows_labels_starting_with_an_underscore(name):
    fig, ax = plt.subplots()
    key = legend(ax, [(ax.scatter([1], [1]), name), (ax.scatter([2], [2]), "b")])
    assert [shown(t) for t in key.get_texts()] == [name, "b"]
    plt.close(fig)


@pytest.mark.parametrize("name", NAMES)
def test_take_report_draws_the_players_name_as_written(name, drawn):
    page = take_report_html(score_take(take_of(name), grid=16))
    assert f"<p class='sub'>{html.escape(name)}</p>" in page
    assert page.count("data:image/png;base64,") == 2
    timeline, per_voice = drawn
    assert name in legend_texts(timeline)[0]
    assert legend_texts(per_voice) == [[name]]


@pytest.mark.parametrize(("a", "b"), [("$$", "$x^2$"), ("_ann", "J$^$"), (r"a\$b", "$")])
def test_duet_report_draws_both_names_as_written(a, b, drawn):
    duet = analyse_duet(take_of(a), take_of(b, shift_s=0.012), grid=16)
    page = duet_report_html(duet, title="$1 song")
    assert f"{html.escape(a)} &amp; {html.escape(b)}" in page
    assert page.count("data:image/png;base64,") == 3
    timeline, per_bar, per_voice = drawn
    assert {a, b} <= set(legend_texts(timeline)[0])
    assert legend_texts(per_voice) == [[a, b]]
    assert f"Asynchrony per bar\n{a} later ↑ / {b} later ↓" in drawn_texts(per_bar)


def saved_session(a: str, b: str, title: str) -> dict:
    duet = analyse_duet(take_of(a), take_of(b, shift_s=0.012), grid=16)
    players = [{"name": s.player, "score": s.to_dict(with_hits=True)} for s in duet.players]
    return {
        "song_title": title,
        "created_at": datetime(2024, 5, 1, tzinfo=timezone.utc).isoformat(),
        "results": {"players": players, "duet": duet.to_dict(), "summary": duet.summary},
    }


@pytest.mark.parametrize(("a", "b"), [("$$", "$x^2$"), ("_ann", "J$^$")])
def test_keepsake_card_draws_names_and_title_as_written(a, b):
    title = "Ke$ha's $5 song_"
    saved = saved_session(a, b, title)
    fig = card_figure(saved)
    texts = drawn_texts(fig)
    assert title in texts and a in texts and b in texts
    assert f"{a} & {b} · 01 May 2024" in texts
    assert legend_texts(fig) == [[a, b]]
    assert saved["results"]["summary"][:40] in " ".join(texts).replace("\n", " ")
    buf = io.BytesIO()
    write_card(saved, buf)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
