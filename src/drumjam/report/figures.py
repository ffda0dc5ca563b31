"""Matplotlib figures of scores and duets (Agg backend, returned as PNG bytes)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from drumjam.report.mpltext import legend, literal, short  # noqa: E402
from drumjam.scoring import DuetResult, TakeScore  # noqa: E402

PLAYER_COLOURS = ("#d9480f", "#1c7ed6")
BAND_MS = 20.0


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def timeline_png(scores: list[TakeScore]) -> bytes:
    """Every matched hit's offset against its time, one colour per player."""
    fig, ax = plt.subplots(figsize=(10, 3.6))
    entries = [(ax.axhspan(-BAND_MS, BAND_MS, color="#e9ecef", zorder=0), "±20 ms")]
    ax.axhline(0, color="#495057", lw=0.8)
    for score, colour in zip(scores, PLAYER_COLOURS):
        t = np.array([h.target_time_s for h in score.hits if h.offset_ms is not None])
        off = np.array([h.offset_ms for h in score.hits if h.offset_ms is not None])
        entries.append((ax.scatter(t, off, s=9, alpha=0.7, color=colour), score.player))
        extra = [h.time_s for h in score.hits if h.offset_ms is None]
        if extra:  # hits that matched no note, drawn along the top edge
            top = float(np.max(np.abs(off))) + 10 if off.size else 50.0
            entries.append((ax.scatter(extra, np.full(len(extra), top), marker="x", s=16,
                                       color=colour, alpha=0.8),
                            f"{short(score.player, 12)}: extra hits"))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("offset (ms)  late ↑  early ↓")
    ax.set_title("Every hit against the grid")
    legend(ax, entries, loc="upper right", fontsize=8, ncol=3)
    return _png(fig)


def voice_offsets_png(scores: list[TakeScore]) -> bytes:
    """Distribution of offsets per voice and player (box plots)."""
    voices = sorted({h.voice for s in scores for h in s.hits if h.offset_ms is not None})
    fig, ax = plt.subplots(figsize=(10, 3.6))
    width = 0.8 / max(len(scores), 1)
    entries = []
    for k, (score, colour) in enumerate(zip(scores, PLAYER_COLOURS)):
        data = [[h.offset_ms for h in score.hits if h.voice == v and h.offset_ms is not None]
                for v in voices]
        pos = np.arange(len(voices)) + (k - (len(scores) - 1) / 2) * width
        keep = [i for i, d in enumerate(data) if d]
        if keep:
            bp = ax.boxplot([data[i] for i in keep], positions=pos[keep], widths=width * 0.9,
                            patch_artist=True, showfliers=False)
            for patch in bp["boxes"]:
                patch.set_facecolor(colour)
                patch.set_alpha(0.55)
        (swatch,) = ax.plot([], [], color=colour, lw=6, alpha=0.55)
        entries.append((swatch, score.player))
    ax.axhline(0, color="#495057", lw=0.8)
    ax.set_xticks(np.arange(len(voices)), [v.replace("_", " ") for v in voices], fontsize=8)
    ax.set_ylabel("offset (ms)")
    ax.set_title("Timing per voice")
    legend(ax, entries, fontsize=8)
    return _png(fig)


def async_per_bar_png(duet: DuetResult) -> bytes:
    """Mean asynchrony A - B per bar with its SD, and the ±20 ms band."""
    fig, ax = plt.subplots(figsize=(10, 3.2))
    bars = np.array([b.bar + 1 for b in duet.per_bar])
    mean = np.array([b.mean_async_ms for b in duet.per_bar])
    sd = np.array([b.sd_async_ms or 0.0 for b in duet.per_bar])
    ax.axhspan(-BAND_MS, BAND_MS, color="#e9ecef", zorder=0)
    ax.axhline(0, color="#495057", lw=0.8)
    if bars.size:
        ax.bar(bars, mean, yerr=sd, color=np.where(mean > 0, PLAYER_COLOURS[0], PLAYER_COLOURS[1]),
               alpha=0.7, capsize=2)
    a, b = (literal(short(p.player)) for p in duet.players)
    ax.set_xlabel("bar")
    ax.set_ylabel("asynchrony (ms)")
    ax.set_title(f"Asynchrony per bar\n{a} later ↑ / {b} later ↓", fontsize=11)
    return _png(fig)
