"""Self-contained HTML reports of a take or a duet (figures embedded as PNG)."""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path

from drumjam import __version__
from drumjam.report.figures import async_per_bar_png, timeline_png, voice_offsets_png
from drumjam.numtext import readable
from drumjam.scoring import DuetResult, TakeScore, TimingStats

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1080px;margin:2em auto;
padding:0 1em;color:#212529}
h1{font-size:1.6em;margin-bottom:.2em} .sub{color:#868e96;margin-top:0}
h1,h2,.sub,.summary{overflow-wrap:break-word;overflow-wrap:anywhere}
.summary{font-size:1.15em;background:#fff4e6;border-left:4px solid #d9480f;padding:.8em 1em}
table{border-collapse:collapse;margin:1em 0;font-size:.92em} th,td{padding:.3em .7em;text-align:right}
th{background:#f1f3f5} td:first-child,th:first-child{text-align:left} tr:nth-child(even){background:#f8f9fa}
img{max-width:100%;margin:.5em 0} .k{display:inline-block;margin-right:2em} .k b{font-size:1.4em;display:block}
"""

_COLUMNS = [
    ("matched", "matched"), ("missed", "missed"), ("extra", "extra"),
    ("mean_offset_ms", "mean ms"), ("sd_offset_ms", "SD ms"),
    ("median_abs_offset_ms", "median |ms|"), ("drift_ms_per_bar", "drift ms/bar"),
    ("accuracy_pct", "accuracy %"), ("velocity_mean", "velocity"), ("accents", "accents"),
    ("ghost_notes", "ghosts"),
]


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


_SIGNED = {"mean_offset_ms", "drift_ms_per_bar"}


def _fmt(value: object, signed: bool = True) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return readable(value, 1, sign=signed)
    return html.escape(str(value))


def _row(label: str, stats: TimingStats) -> str:
    d = stats.to_dict()
    cells = "".join(f"<td>{_fmt(d[key], key in _SIGNED)}</td>" for key, _ in _COLUMNS)
    return f"<tr><td>{html.escape(label)}</td>{cells}</tr>"


def voice_table(score: TakeScore) -> str:
    """HTML table of a score's per-voice statistics."""
    head = "".join(f"<th>{name}</th>" for _, name in _COLUMNS)
    rows = [_row("all", score.overall)]
    rows += [_row(v.replace("_", " "), s) for v, s in sorted(score.voices.items())]
    return f"<table><tr><th>voice</th>{head}</tr>{''.join(rows)}</table>"


def _page(title: str, body: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{_CSS}</style></head>"
        f"<body>{body}<p class='sub'>drumjam {__version__} · {stamp}</p></body></html>"
    )


def take_report_html(score: TakeScore, title: str = "") -> str:
    """The HTML report of one take."""
    o = score.overall
    name = html.escape(score.player)
    body = (
        f"<h1>{html.escape(title or score.player)}</h1><p class='sub'>{name}</p>"
        f"<div><span class='k'><b>{o.accuracy_pct:.0f}%</b>accuracy</span>"
        f"<span class='k'><b>{_fmt(o.mean_offset_ms)} ms</b>mean offset</span>"
        f"<span class='k'><b>{_fmt(o.sd_offset_ms, False)} ms</b>spread (SD)</span></div>"
        + _img(timeline_png([score]), "offsets over time")
        + _img(voice_offsets_png([score]), "offsets per voice")
        + "<h2>Per voice</h2>" + voice_table(score)
    )
    return _page(title or score.player, body)


def duet_report_html(duet: DuetResult, title: str = "", credit: str = "") -> str:
    """The HTML report of a duet."""
    a, b = duet.players
    mean = "–" if duet.mean_async_ms is None else f"{readable(duet.mean_async_ms, 1, sign=True)} ms"
    alphas = " / ".join(readable(x, 2) for x in duet.alpha)
    within = f"{100 * duet.within_20ms:.0f}%" if duet.async_ms.size else "–"  # no shared note
    body = (
        f"<h1>{html.escape(title or 'Duet')}</h1>"
        f"<p class='sub'>{html.escape(a.player)} &amp; {html.escape(b.player)}</p>"
        f"<p class='summary'>{html.escape(duet.summary)}</p>"
        f"<div><span class='k'><b>{mean}</b>mean asynchrony A−B</span>"
        f"<span class='k'><b>{within}</b>within ±20 ms</span>"
        f"<span class='k'><b>{alphas}</b>correction gains α (A / B)</span></div>"
        + _img(timeline_png([a, b]), "both players' offsets over time")
        + _img(async_per_bar_png(duet), "asynchrony per bar")
        + _img(voice_offsets_png([a, b]), "offsets per voice")
        + f"<h2>{html.escape(a.player)}</h2>" + voice_table(a)
        + f"<h2>{html.escape(b.player)}</h2>" + voice_table(b)
        + (f"<p class='sub'>{html.escape(credit)}</p>" if credit else "")
    )
    return _page(title or "Duet", body)


def write_take_report(score: TakeScore, path: str | Path, title: str = "") -> Path:
    """Write the HTML report of one take; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(take_report_html(score, title), encoding="utf-8")
    return out


def write_duet_report(duet: DuetResult, path: str | Path, title: str = "", credit: str = "") -> Path:
    """Write the HTML report of a duet; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(duet_report_html(duet, title, credit), encoding="utf-8")
    return out
