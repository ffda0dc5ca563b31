"""People's text (player names, song titles, summaries) drawn by matplotlib exactly as written.

Matplotlib reads text between two ``$`` signs as mathtext, so a player called ``$$`` or
``J$^$`` made a figure raise (a ParseException) and ``$x^2$`` was drawn as a formula; and
``legend()`` leaves out every artist whose label starts with ``_``, so ``_ann`` vanished from
the legend. Every text a person typed goes through :func:`literal`, and every legend through
:func:`legend`.

A figure grows to hold its labels, so a player called by 5,000 letters made a 180,261-pixel
wide timeline: names in labels and legends are cut to :data:`MAX_LABEL_CHARS` (:func:`short`),
and shown whole in the report's text.

DejaVu Sans, matplotlib's font, has no Chinese, Japanese or Korean letters: a player called
鼓手 was drawn as two empty boxes. Where a font with them is installed
(:data:`FALLBACK_FONT_FILES`; ``scripts/install.sh`` installs Droid Sans Fallback), matplotlib
falls back to it letter by letter (:func:`use_fallback_fonts`, on import).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.legend import Legend

#: Most characters of a person's text in a figure's labels and legends.
MAX_LABEL_CHARS = 24
#: Fonts with the letters DejaVu Sans lacks (Chinese, Japanese, Korean), where Debian puts them
#: (fonts-droid-fallback, fonts-noto-cjk); the first that is there is used.
FALLBACK_FONT_FILES = (
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)


def use_fallback_fonts() -> list[str]:
    """Draw text in DejaVu Sans, falling back letter by letter to the fonts of
    :data:`FALLBACK_FONT_FILES` that are installed.

    Returns
    -------
    list of str
        The font families text is drawn in, in order.
    """
    families = ["DejaVu Sans"]
    for path in FALLBACK_FONT_FILES:
        if path.is_file():
            font_manager.fontManager.addfont(str(path))
            families.append(font_manager.FontProperties(fname=str(path)).get_name())
            break
    matplotlib.rcParams["font.family"] = families
    return families


def literal(text: object) -> str:
    """``text`` escaped so that matplotlib draws it letter for letter.

    Each ``$`` becomes ``\\$``: a string with no unescaped ``$`` is never read as mathtext, and
    matplotlib shows ``\\$`` as ``$`` (a ``\\$`` already in the text stays ``\\$``). Use it with
    matplotlib's default ``parse_math=True``.

    Parameters
    ----------
    text : object
        What a person wrote (converted with ``str``).

    Returns
    -------
    str
        The text to give matplotlib.
    """
    return str(text).replace("$", r"\$")


def short(text: object, max_chars: int = MAX_LABEL_CHARS) -> str:
    """``text`` cut to at most ``max_chars`` characters, the last of them an ellipsis.

    Parameters
    ----------
    text : object
        What a person wrote (converted with ``str``).
    max_chars : int
        The most characters kept (1 or more).

    Returns
    -------
    str
        The text, whole if it fits, else its start and ``…``.
    """
    text = str(text)
    return text if len(text) <= max_chars else text[:max_chars - 1].rstrip() + "…"


def legend(ax: Axes, entries: Sequence[tuple[Artist, str]], **kwargs: Any) -> Legend:
    """A legend of ``(artist, label)`` entries, every label shown as written, cut to
    :data:`MAX_LABEL_CHARS` (:func:`short`).

    The handles and labels are given to matplotlib explicitly, so a label starting with ``_``
    is shown (matplotlib drops such labels only when it collects them from the artists).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to put the legend on.
    entries : sequence of (Artist, str)
        Each artist and its label, unescaped (:func:`literal` is applied here).
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.legend` (``loc``, ``fontsize``, ...).

    Returns
    -------
    matplotlib.legend.Legend
    """
    return ax.legend([artist for artist, _ in entries],
                     [literal(short(label)) for _, label in entries], **kwargs)


use_fallback_fonts()
