"""One batch item, done on a Dask worker: the same calls as the one-file commands.

:func:`run_item` never raises for a bad item: a file that cannot be read (or any other
failure of the item's own) becomes that item's ``error`` in its row, so one bad file never
stops a batch.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drumjam.batch.items import Item
from drumjam.errors import InputError

if TYPE_CHECKING:
    from drumjam.scoring import ScoringConfig

OK, FAILED, LOST = "ok", "failed", "lost"


@dataclass(frozen=True)
class Settings:
    """Options every item of a batch shares (per-item manifest columns override them).

    Parameters are those of ``drumjam score`` / ``duet`` / ``analyze``: ``grid``, ``chart``,
    ``kit``, ``channel``, ``strict``, the windows ``perfect_ms``, ``great_ms``, ``good_ms``, and
    ``meter`` for the analysis.

    Raises
    ------
    InputError
        If ``grid``, ``meter`` or a window is out of range (0 included): a batch refuses a bad
        option before it does any item, as the one-file command would.
    """

    grid: int = 16
    chart: str | None = None
    kit: str | None = None
    channel: int | None = None
    strict: bool = False
    perfect_ms: float = 20.0
    great_ms: float = 45.0
    good_ms: float = 90.0
    meter: int | None = None

    def __post_init__(self) -> None:
        from drumjam.model.beatmap import SUBDIVISIONS

        if self.grid not in SUBDIVISIONS:
            raise InputError(f"--grid {self.grid} is not a grid subdivision; give one of "
                             f"{', '.join(map(str, SUBDIVISIONS))}")
        if self.meter is not None and not 2 <= self.meter <= 12:
            raise InputError(f"--meter {self.meter} is out of range; give 2-12 beats per bar")
        self.scoring_config()

    def scoring_config(self) -> ScoringConfig:
        """The timing windows and voice matching shared by every item (checked)."""
        from drumjam.scoring import ScoringConfig

        return ScoringConfig(perfect_ms=self.perfect_ms, great_ms=self.great_ms,
                             good_ms=self.good_ms, strict_voices=self.strict)


def flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A table row: scalar fields as they are, nested ones (per voice, lists) as JSON text."""
    row = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        row[name] = json.dumps(value) if isinstance(value, (dict, list, tuple)) else value
    return row


def _whole(item: Item, column: str, default: int | None) -> int | None:
    """An item's whole-number option: its manifest column, else the batch's ``default``."""
    given = item.options.get(column)
    if given is None:
        return default
    try:
        return int(given)
    except ValueError:
        raise InputError(f"the manifest's {column} {given!r} is not a whole number") from None


def _scoring(settings: Settings, item: Item):  # noqa: ANN202 (target, grid, config)
    from drumjam.io.songfolder import load_chart

    chart = item.options.get("chart", settings.chart)
    grid = _whole(item, "grid", settings.grid)
    target = load_chart(chart, kit_map=settings.kit) if chart else None
    return target, None if target else grid, settings.scoring_config()


def _score(item: Item, settings: Settings) -> dict[str, Any]:
    from drumjam.analysis.takes import load_take
    from drumjam.scoring import score_take

    target, grid, config = _scoring(settings, item)
    played = load_take(item.paths[0], kit_map=settings.kit, channel=settings.channel,
                       find_beats=target is None)
    return flat(score_take(played, target, grid=grid, config=config).to_dict())


def _duet(item: Item, settings: Settings) -> dict[str, Any]:
    from drumjam.analysis.takes import load_take, take_kind
    from drumjam.cli.scoring_cmds import player_names
    from drumjam.scoring import analyse_duet
    from drumjam.scoring.duet import takes_beatmap

    names = player_names([Path(p) for p in item.paths])
    target, grid, config = _scoring(settings, item)
    # two recordings on no chart: the grid is built on the beats found in the first
    beats = target is None and all(take_kind(p) == "audio" for p in item.paths)
    a, b = (load_take(p, kit_map=settings.kit, channel=settings.channel, player=n,
                      find_beats=beats and i == 0)
            for i, (p, n) in enumerate(zip(item.paths, names)))
    shared = None if target is not None else takes_beatmap(
        a, b, fix="give the song both played along as the chart (--chart, or the manifest's "
                  "chart column)")
    result = analyse_duet(a, b, target, grid=grid, beatmap=shared, config=config).to_dict()
    row = {"summary": result["summary"], **flat(result["sync"], "sync_")}
    for label, player in zip("ab", result["players"]):
        row.update(flat({k: v for k, v in player.items() if k != "voices"}, f"{label}_"))
    return row


def _analyze(item: Item, settings: Settings) -> dict[str, Any]:
    from drumjam.analysis import analyse_audio

    beatmap = analyse_audio(item.paths[0], meter=_whole(item, "meter", settings.meter))
    data = beatmap.to_dict()
    return {"tempo_bpm": data["tempo_bpm"], "meter": data["meter"], "confidence": data["confidence"],
            "beats": len(data["beats"]), "downbeats": len(data["downbeats"]),
            "beatmap": json.dumps(data)}


def _transcribe(item: Item, settings: Settings) -> dict[str, Any]:
    try:
        from drumjam.analysis.transcribe import transcribe
    except ImportError as exc:
        raise RuntimeError(f"drum transcription is not available in this drumjam installation "
                           f"({exc}); install a drumjam that has drumjam.analysis.transcribe") from None
    from drumjam.io.audio import check_holds_audio

    check_holds_audio(item.paths[0])  # as `drumjam transcribe`: an empty file is no silence
    take = transcribe(item.paths[0])
    hits = list(getattr(take, "hits", take))
    voices = Counter(getattr(h.voice, "value", str(h.voice)) for h in hits)
    return {"hits": len(hits), "hits_per_voice": json.dumps(dict(sorted(voices.items()))),
            "first_hit_s": min((h.time_s for h in hits), default=None)}


TASKS = {"score": _score, "duet": _duet, "analyze": _analyze, "transcribe": _transcribe}
#: What each command imports on a worker, so workers can load it before the clock starts.
MODULES = {"score": ("drumjam.analysis.takes", "drumjam.io.songfolder", "drumjam.scoring"),
           "duet": ("drumjam.analysis.takes", "drumjam.io.songfolder", "drumjam.scoring"),
           "analyze": ("drumjam.analysis",), "transcribe": ("drumjam.io.audio",)}


def warm_up(command: str) -> None:
    """Import what ``command`` needs (run on every worker when a batch starts)."""
    import importlib

    for name in MODULES[command]:
        importlib.import_module(name)


def run_item(command: str, item: Item, settings: Settings) -> dict[str, Any]:
    """Do one item; its row in the result table (``status`` ``"ok"`` or ``"failed"``)."""
    start = time.perf_counter()
    try:
        row = {"status": OK, "error": "", **TASKS[command](item, settings)}
    except Exception as exc:  # noqa: BLE001 - any failure of one item is that item's error
        row = {"status": FAILED, "error": f"{type(exc).__name__}: {exc}"}
    return {"item": item.key, **row, "seconds": round(time.perf_counter() - start, 4)}


def run_items(command: str, items: list[Item], settings: Settings) -> list[dict[str, Any]]:
    """Do several items in one task (:func:`run_item` each): fewer round trips to the scheduler."""
    return [run_item(command, item, settings) for item in items]
