"""The keepsake card: a PNG to share after a session (song, names, date, figures, timeline)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backend_bases import RendererBase
from matplotlib.figure import Figure
from matplotlib.text import Text

from drumjam.report.mpltext import legend, literal, short
from drumjam.numtext import readable

COLOURS = ("#e4572e", "#17bebb")
WIDTH_PX, HEIGHT_PX, DPI = 1200, 630, 100
#: Widths (share of the card's) of the texts beside the timeline, and of the summary below it.
COLUMN_WIDTH, FULL_WIDTH = 0.46, 0.92
#: Most characters of a person's text measured: more never fit on one line of the card.
_MAX_MEASURED_CHARS = 300


def _fits(text: Text, shown: str, width: float, renderer: RendererBase) -> bool:
    """Show ``shown`` (as written) in ``text``; whether it is at most ``width`` of the card wide."""
    text.set_text(literal(shown))
    return text.get_window_extent(renderer).width <= width * WIDTH_PX


def _fit(text: Text, make: Callable[[int], str], most: int, width: float,
         renderer: RendererBase) -> None:
    """Show in ``text`` the longest ``make(n)``, n from ``most`` down to 1, that fits ``width``
    (``make(n)`` cuts people's text to ``n`` characters; it is wider the larger ``n``)."""
    most = min(most, _MAX_MEASURED_CHARS)
    if _fits(text, make(most), width, renderer):
        return
    low, high = 1, most - 1  # the longest that fits lies in low..high (or is 1)
    while low < high:
        mid = (low + high + 1) // 2
        if _fits(text, make(mid), width, renderer):
            low = mid
        else:
            high = mid - 1
    _fits(text, make(low), width, renderer)


def _fit_title(text: Text, title: str, renderer: RendererBase) -> None:
    """The song's title beside the timeline: smaller type for a long one, then cut."""
    for size in (26, 22, 18):
        text.set_fontsize(size)
        if _fits(text, short(title, _MAX_MEASURED_CHARS), COLUMN_WIDTH, renderer):
            return
    _fit(text, lambda n: short(title, n), len(title), COLUMN_WIDTH, renderer)


def _fit_summary(text: Text, summary: str, renderer: RendererBase) -> None:
    """The summary below the timeline in up to three lines the card's width."""
    for chars in range(135, 19, -5):
        shown = textwrap.fill(summary, width=chars, max_lines=3, placeholder=" …")
        if _fits(text, shown, FULL_WIDTH, renderer):
            return


def _fmt(value: Any, unit: str = "", signed: bool = False) -> str:
    return "–" if value is None else readable(value, sign=signed) + unit


def _headline(score: dict[str, Any]) -> str:
    return (f"accuracy {_fmt(score.get('accuracy_pct'), '%')}   mean {_fmt(score.get('mean_offset_ms'), ' ms', signed=True)}   "
            f"spread {_fmt(score.get('sd_offset_ms'), ' ms')}")


def card_figure(saved: dict[str, Any]) -> Figure:
    """The keepsake card of a saved session as a figure (1200 x 630 px at its DPI).

    Every text a person wrote (song title, player names, the summary that names them) is drawn
    as written (:func:`drumjam.report.mpltext.literal`), measured and cut with an ellipsis
    where it would run into the timeline or off the card (a long title is first set smaller,
    the summary wrapped in up to three lines).

    Parameters
    ----------
    saved : dict
        A saved session (:func:`drumjam.store.sessions.get_session`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    results = saved["results"]
    players = results["players"]
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="#14161c")
    renderer = FigureCanvasAgg(fig).get_renderer()  # to measure texts as the PNG draws them
    text = {"color": "white", "transform": fig.transFigure}
    fig.text(0.04, 0.90, "drumjam", fontsize=16, color="#f6ae2d",
             fontweight="bold", transform=fig.transFigure)
    _fit_title(fig.text(0.04, 0.80, "", fontweight="bold", **text), saved["song_title"], renderer)
    names = [p["name"] for p in players]
    when = datetime.fromisoformat(saved["created_at"]).strftime("%d %B %Y")
    _fit(fig.text(0.04, 0.72, "", fontsize=15, **text),
         lambda n: " & ".join(short(name, n) for name in names) + f" · {when}",
         max(map(len, names)), COLUMN_WIDTH, renderer)
    y = 0.62
    for colour, p in zip(COLOURS, players):
        _fit(fig.text(0.04, y, "", fontsize=13, color=colour, fontweight="bold",
                      transform=fig.transFigure),
             lambda n, name=p["name"]: short(name, n), len(p["name"]), COLUMN_WIDTH, renderer)
        fig.text(0.04, y - 0.05, _headline(p["score"]), fontsize=12, **text)
        y -= 0.13
    duet = (results.get("duet") or {}).get("sync")
    if duet:
        fig.text(0.04, y, "Together", fontsize=13, color="#f6ae2d", fontweight="bold",
                 transform=fig.transFigure)
        within = duet.get("within_20ms")
        if within is None or duet.get("pairs") == 0:  # no note both played: nothing to compare
            together = "no note played by both to compare"
        else:
            together = (f"apart {_fmt(duet.get('mean_async_ms'), ' ms', signed=True)} on average, "
                        f"{100 * within:.0f}% of notes within 20 ms")
        fig.text(0.04, y - 0.05, together, fontsize=12, **text)
    _fit_summary(fig.text(0.04, 0.04, "", fontsize=10.5, color="#c8c8c8",
                          transform=fig.transFigure), results.get("summary", ""), renderer)
    ax = fig.add_axes((0.56, 0.2, 0.4, 0.62), facecolor="#1d2029")
    entries = []
    for colour, p in zip(COLOURS, players):
        hits = [h for h in p["score"].get("hits", []) if h.get("offset_ms") is not None]
        entries.append((ax.scatter([h["time_s"] for h in hits], [h["offset_ms"] for h in hits],
                                   s=9, color=colour, alpha=0.8), p["name"]))
    ax.axhspan(-20, 20, color="white", alpha=0.08)
    ax.axhline(0, color="white", lw=0.8, alpha=0.6)
    ax.set_xlabel("time (s)", color="white")
    ax.set_ylabel("early  ←  offset (ms)  →  late", color="white")
    ax.tick_params(colors="white")
    for spine in ax.spines.values():
        spine.set_color("#555")
    key = legend(ax, entries, loc="best", facecolor="#1d2029", edgecolor="#555", fontsize=9)
    for t in key.get_texts():
        t.set_color("white")
    ax.set_title("timeline", color="white", fontsize=11)
    return fig


def write_card(saved: dict[str, Any], path: str | Path | BinaryIO) -> None:
    """Draw the keepsake card of a saved session (:func:`card_figure`) as a PNG.

    Parameters
    ----------
    saved : dict
        A saved session (:func:`drumjam.store.sessions.get_session`).
    path : str, Path or binary file
        Where to write the PNG (1200 x 630 px).
    """
    fig = card_figure(saved)
    fig.savefig(path, dpi=DPI, facecolor=fig.get_facecolor(), format="png")
