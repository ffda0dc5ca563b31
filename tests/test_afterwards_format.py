"""Figures, names and download names as people meet them after a session.

- A mean that rounds to zero from below read "-0 ms" on the card and "-0.0" in the HTML report
  and the command line's duet printout; the duet summary could give a gain as "-0.00".
- A long unbroken title or name ran out of the HTML report's headings (no overflow-wrap).
- A download's name held the whole song title: a long title made it longer than the 255 bytes
  most file systems take for a name.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timezone
from urllib.parse import unquote

import matplotlib.pyplot as plt
import pytest
from matplotlib.text import Text

from drumjam.cli.scoring_cmds import _print_duet, console
from drumjam.model import BeatMap, Chart, Hit, Note, Take
from drumjam.report import duet_report_html, take_report_html
from drumjam.report.card import card_figure
from drumjam.numtext import readable
from drumjam.scoring import analyse_duet, score_take
from drumjam.scoring.duet import _leader, _summary
from drumjam.scoring.phase import PhaseCorrection

BM = BeatMap.constant(120, 8)
CHART = Chart((Note(1.0, "kick"), Note(2.0, "snare")), BM)
NEGATIVE_ZERO = re.compile(r"(?<![\d.])-0(\.0+)?(?![.\d])")  # "-0", "-0.0", "-0.00"


@pytest.fixture
def near_zero():
    """Ann 0.04 ms early on the first note, on time on the second; Bob on time: Ann's mean
    offset and the mean asynchrony are -0.02 ms."""
    ann = Take((Hit(1.0 - 0.00004, "kick"), Hit(2.0, "snare")), player="Ann", beatmap=BM)
    bob = Take((Hit(1.0, "kick"), Hit(2.0, "snare")), player="Bob", beatmap=BM)
    duet = analyse_duet(ann, bob, CHART)
    assert -0.05 < duet.players[0].overall.mean_offset_ms < 0
    assert -0.05 < duet.mean_async_ms < 0
    return duet


def _text(page: str) -> str:
    """The page without its embedded PNGs."""
    return re.sub(r"<img [^>]*>", "", page)


def test_readable_never_shows_a_negative_zero():
    assert readable(-0.04, 1) == "0.0" and readable(-0.04, 1, sign=True) == "+0.0"
    assert readable(-0.4) == "0" and readable(-0.4, sign=True) == "+0"
    assert readable(-0.004, 2) == "0.00" and readable(-0.0) == "0"
    assert readable(-0.05, 1, sign=True) == "-0.1"  # what does not round to zero keeps its sign
    assert readable(2.5, sign=True) == "+2" and readable(-12.34, 1) == "-12.3"
    assert readable(0.0, 1, sign=True) == "+0.0" and readable(None) == "–"


def test_a_mean_just_below_zero_reads_zero_in_the_html_reports(near_zero):
    page = _text(duet_report_html(near_zero))
    assert "<b>+0.0 ms</b>mean asynchrony" in page  # was -0.0 ms
    assert not NEGATIVE_ZERO.search(page), NEGATIVE_ZERO.search(page)
    take = _text(take_report_html(near_zero.players[0]))
    assert "<b>+0.0 ms</b>mean offset" in take
    assert not NEGATIVE_ZERO.search(take), NEGATIVE_ZERO.search(take)


def test_a_mean_just_below_zero_reads_zero_on_the_card(near_zero):
    saved = {"song_title": "Slow funk",
             "created_at": datetime(2025, 5, 1, tzinfo=timezone.utc).isoformat(),
             "results": {"players": [{"name": s.player, "score": s.to_dict(with_hits=True)}
                                     for s in near_zero.players],
                         "duet": near_zero.to_dict(), "summary": near_zero.summary}}
    texts = [t.get_text() for t in card_figure(saved).findobj(Text) if t.get_text()]
    plt.close("all")
    assert any(t.startswith("accuracy 100%   mean +0 ms") for t in texts), texts  # was -0 ms
    assert any(t.startswith("apart +0 ms on average") for t in texts), texts
    assert not any(NEGATIVE_ZERO.search(t) for t in texts), texts
    # the data keeps the raw numbers: only the text is rounded
    assert saved["results"]["duet"]["sync"]["mean_async_ms"] == pytest.approx(-0.02)


def test_a_mean_just_below_zero_reads_zero_in_the_duet_printout(near_zero):
    with console.capture() as out:
        _print_duet(near_zero)
    printed = out.get()
    assert "mean asynchrony A−B +0.0 ms" in printed  # was -0.0 ms
    assert not NEGATIVE_ZERO.search(printed), printed


def _gain(alpha: float) -> PhaseCorrection:
    return PhaseCorrection(alpha=alpha, alpha_se=0.01, beta=None, sigma_t_ms=10.0,
                           sigma_m_ms=3.0, n_events=40)


def test_the_duet_summary_shows_no_negative_zero_gain():
    a, b = _gain(-0.004), _gain(0.07)
    assert _leader(a, b) is None
    text = _summary("Ann", "Bob", 5.0, 0.8, (a, b), None)
    assert "about equally (0.00 and 0.07 of each gap)" in text, text  # was -0.00
    a, b = _gain(-0.004), _gain(0.5)
    text = _summary("Ann", "Bob", 5.0, 0.8, (a, b), _leader(a, b))
    assert "Bob followed, correcting 50% of each gap against Ann's 0%" in text, text


LONG_NAME = "Ann<&>" + "W" * 294  # 300 characters without a place to break


def _wrapped_selectors(page: str) -> set[str]:
    """The selectors of the report's CSS rules that let a long word break anywhere."""
    css = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    found = set()
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", css):
        if re.search(r"overflow-wrap:\s*(anywhere|break-word)", body):
            found |= {s.strip() for s in selectors.split(",")}
    return found


def test_a_long_unbroken_name_wraps_in_the_duet_report():
    ann = Take((Hit(1.0, "kick"), Hit(2.0, "snare")), player=LONG_NAME, beatmap=BM)
    bob = Take((Hit(1.01, "kick"), Hit(2.03, "snare")), player="Bob", beatmap=BM)
    title = "T" * 300
    page = duet_report_html(analyse_duet(ann, bob, CHART), title=title)
    assert {"h1", "h2", ".sub", ".summary"} <= _wrapped_selectors(page)  # none before
    escaped = html.escape(LONG_NAME)
    assert f"<h2>{escaped}</h2>" in page  # whole, escaped
    assert f"<p class='sub'>{escaped} &amp; Bob</p>" in page
    assert f"<h1>{title}</h1>" in page and "<&>" not in _text(page).split("<body>")[1]


def test_a_long_unbroken_name_wraps_in_the_take_report():
    score = score_take(Take((Hit(1.0, "kick"),), player=LONG_NAME, beatmap=BM), CHART)
    page = take_report_html(score)
    assert {"h1", ".sub"} <= _wrapped_selectors(page)
    assert f"<h1>{html.escape(LONG_NAME)}</h1>" in page


TITLE = "Cafés " + "鼓" * 294  # 300 characters, 889 bytes; 120 bytes end inside a 鼓


def _download_name(response) -> str:
    disposition = response.headers["content-disposition"]
    quoted = re.search(r"filename\*=UTF-8''([^;]+)", disposition).group(1)
    return unquote(quoted, errors="strict")


def test_download_names_of_a_long_title_fit_a_file_system(tmp_path):
    from fastapi.testclient import TestClient

    from drumjam.session.live import LiveSession, Player
    from drumjam.web.app import create_app

    app = create_app(home=tmp_path)
    with TestClient(app) as client:
        history = app.state.jam.history
        players = [Player("Ann")]
        sid = history.open(song_id="s", title=TITLE, players=players, beatmap=BM, chart=CHART,
                           practice={})
        live = LiveSession(players, BM, CHART, on_hit=history.recorder(sid))
        live.add_hit(0, Hit(1.0, "kick", 100))
        history.finish(sid, live.finish())
        got = client.get(f"/api/history/{sid}/results.json")
        assert json.loads(got.content)["song_title"] == TITLE  # the data keeps the whole title
        names = {".json": _download_name(got)}
        for url, suffix in (("take/0.mid", "-player1.mid"), ("report.html?download=true", ".html"),
                            ("card.png?download=true", ".png")):
            got = client.get(f"/api/history/{sid}/{url}")
            assert got.status_code == 200, url
            names[suffix] = _download_name(got)
    whole = "cafés-" + "鼓" * 294
    for suffix, name in names.items():
        assert len(name.encode()) <= 160, (suffix, len(name.encode()))  # was 900 and more
        prefix = f"drumjam-{sid}-"
        assert name.startswith(prefix) and name.endswith(suffix), name
        stem = name[len(prefix):-len(suffix)]
        assert len(stem.encode()) <= 120 and whole.startswith(stem), stem
        assert stem == "cafés-" + "鼓" * 37  # 118 bytes: the 38th 鼓 would end at 121


def test_a_lesson_s_notation_download_name_fits_a_file_system(tmp_path):
    """A lesson named with the 64 characters a name may have, each a letter of four bytes of
    UTF-8 (CJK extension B), downloads as a name of at most 255 bytes (265 before), cut
    between whole characters."""
    from fastapi.testclient import TestClient
    from test_lesson_web import rock_bars

    from drumjam.web.app import create_app

    name = "\U00020000" * 64
    with TestClient(create_app(home=tmp_path)) as client:
        made = client.post("/api/lessons", json={"name": name, "tempo_bpm": 100, "hits": rock_bars(100, 4)})
        assert made.status_code == 200, made.text
        got = client.get(f"/api/lessons/{name}/notation.musicxml")
    assert got.status_code == 200
    sent = unquote(got.headers["content-disposition"].split("filename*=UTF-8''")[1])
    assert len(sent.encode()) <= 255 and sent.endswith(".musicxml")
    assert sent.removesuffix(".musicxml") == "\U00020000" * 30  # 120 bytes: whole characters


def test_a_solo_summary_right_on_the_beat_never_says_minus_zero():
    from drumjam.session.live import LiveSession, Player

    bm = BeatMap.constant(120.0, 8.0)
    chart = Chart(tuple(Note(t, "snare") for t in bm.beats_s[2:10]), bm)
    session = LiveSession([Player("Ann")], bm, chart)
    for i, note in enumerate(chart.notes):  # -0.3 ms on average
        session.add_hit(0, Hit(note.time_s + (-0.0004 if i % 2 else -0.0002), "snare"))
    summary = session.finish().summary
    assert "right on the beat on average (+0 ms)" in summary, summary
