"""People's text (player names, song titles, summaries) drawn by matplotlib exactly as written.

Matplotlib reads text between two ``$`` signs as mathtext, so a player called ``$$`` or
``J$^$`` made a figure raise (a ParseException) and ``$x^2$`` was drawn as a formula; and
``legend()`` leaves out every artist whose label starts with ``_``, so ``_ann`` vanished from
the legend. Every text a person typed goes through :func:`literal`, and every legend through
:func:`legend`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.legend import Legend


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


def legend(ax: Axes, entries: Sequence[tuple[Artist, str]], **kwargs: Any) -> Legend:
    """A legend of ``(artist, label)`` entries, every label shown as written.

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
                     [literal(label) for _, label in entries], **kwargs)
