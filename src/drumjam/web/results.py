"""Saved sessions back into takes and scores: for downloads, the HTML report and the card."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from drumjam.model import BeatMap, Chart, Hit, Take
from drumjam.scoring import DuetResult, TakeScore, analyse_duet, score_take
from drumjam.store.sessions import saved_targets


@dataclass(frozen=True)
class Rebuilt:
    """A saved session's takes and targets, ready to score offline."""

    takes: list[Take]
    chart: Chart | None
    beatmap: BeatMap
    grid: int | None


def rebuild(saved: dict[str, Any]) -> Rebuilt:
    """Takes, chart (or grid) and beat map of a saved session."""
    chart, beatmap, grid = saved_targets(saved)
    takes = [
        Take(tuple(Hit(h["time_s"], h["voice"], h["velocity"], h.get("hihat_openness")) for h in hits),
             player=p["name"], beatmap=beatmap)
        for p, hits in zip(saved["players"], saved["takes"])
    ]
    return Rebuilt(takes, chart, beatmap, grid)


def rescore(rebuilt: Rebuilt) -> tuple[list[TakeScore], DuetResult | None]:
    """Offline scores of each take and, for two players, the duet analysis."""
    grid = None if rebuilt.chart is not None else rebuilt.grid
    scores = [score_take(t, rebuilt.chart, grid=grid, beatmap=rebuilt.beatmap) for t in rebuilt.takes]
    duet = None
    if len(rebuilt.takes) == 2:
        duet = analyse_duet(rebuilt.takes[0], rebuilt.takes[1], rebuilt.chart, grid=grid,
                            beatmap=rebuilt.beatmap)
    return scores, duet


def write_report(saved: dict[str, Any], path: Path) -> Path:
    """The core HTML report of a saved session (duet report for two players)."""
    from drumjam.report import take_report_html, voice_table, write_duet_report

    scores, duet = rescore(rebuild(saved))
    if duet is not None:
        return write_duet_report(duet, path, title=saved["song_title"])
    page = take_report_html(scores[0], title=saved["song_title"])
    for other in scores[1:]:  # a duet the core could not fit: the partner's table below
        extra = f"<h2>{html.escape(other.player)}</h2>{voice_table(other)}"
        page = page.replace("</body>", extra + "</body>", 1)
    path.write_text(page, encoding="utf-8")
    return path


#: Most bytes of UTF-8 a title (a song's, a lesson's) takes in a download's name: with what is
#: around it, well inside the 255 bytes file systems allow a name.
MAX_TITLE_BYTES = 120


def title_part(title: str) -> str:
    """``title`` cut to :data:`MAX_TITLE_BYTES` of UTF-8, between whole characters."""
    return title.encode()[:MAX_TITLE_BYTES].decode(errors="ignore")


def attachment(filename: str) -> dict[str, str]:
    """A Content-Disposition header for a download named ``filename`` (any script): an ASCII
    fallback name and the exact name as RFC 5987 ``filename*``."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-") or "download"
    if "." in filename and "." not in ascii_name:
        ascii_name += "." + filename.rsplit(".", 1)[-1].encode("ascii", "ignore").decode()
    return {"Content-Disposition":
            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"}
