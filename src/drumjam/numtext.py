"""Figures as people read them (reports, the keepsake card, the command line, summaries), for
every layer.

Only text: the JSON outputs keep the raw numbers.
"""

from __future__ import annotations


def readable(value: float | None, digits: int = 0, *, sign: bool = False, missing: str = "–") -> str:
    """``value`` rounded to ``digits`` decimals, never as a negative zero.

    A figure that rounds to zero reads ``0`` (``+0`` with ``sign``) from either side: a mean
    offset of -0.04 ms is ``0.0`` ms, not ``-0.0`` ms. ``sign`` shows ``+`` before the others
    that are not negative too (offsets: + late, - early); ``missing`` stands for ``None``.

    >>> readable(-0.04, 1), readable(-0.4, sign=True), readable(-2.6, sign=True), readable(3.14159, 2)
    ('0.0', '+0', '-3', '3.14')
    >>> readable(None), readable(float("-inf"))
    ('–', '-inf')
    """
    if value is None:
        return missing
    text = f"{value:+.{digits}f}"
    if float(text) == 0:  # -0.04 -> "-0.0": the sign of what rounded away
        text = "+" + text[1:]
    return text if sign else text.removeprefix("+")
