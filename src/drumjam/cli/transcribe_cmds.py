"""``drumjam transcribe``: the drums of a recording as hits; and the one way every command
reads a take, MIDI or audio (:func:`read_any_take`), with a progress bar while audio is
transcribed.

The analysis stack is imported when a command runs, not when any ``drumjam`` command starts.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from drumjam.errors import FileFormatError
from drumjam.io.outputs import checked_output, replacing

if TYPE_CHECKING:
    from drumjam.model import Take

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def read_any_take(path: Path, *, kit_map: str | None = None, channel: int | None = None,
                  player: str | None = None, find_beats: bool = False) -> Take:
    """A take from a MIDI file or a recording (:func:`drumjam.analysis.takes.load_take`).

    While a recording is transcribed, a progress bar runs on stderr (on a terminal only).
    """
    from drumjam.analysis.takes import load_take, take_kind

    if take_kind(path) == "midi":
        return load_take(path, kit_map=kit_map, channel=channel, player=player)
    if channel is not None:
        raise FileFormatError(path, "is a recording: --channel picks a MIDI take's drum channel",
                              "leave --channel out for a recording")
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn(), console=err_console, transient=True,
                  disable=not err_console.is_terminal) as bar:
        task = bar.add_task(f"Transcribing the drums of {path.name}", total=1.0)
        return load_take(path, player=player, find_beats=find_beats,
                         progress=lambda done: bar.update(task, completed=done))


def take_json(take: Take) -> dict:
    """What ``drumjam transcribe --json`` prints: every hit (seconds, voice, MIDI velocity)."""
    counts = Counter(h.voice.value for h in take.hits)
    return {
        "player": take.player,
        "hits": [{"time_s": round(h.time_s, 5), "voice": h.voice.value, "velocity": h.velocity}
                 for h in take.hits],
        "hits_per_voice": dict(sorted(counts.items())),
    }


def _voice_table(take: Take) -> Table:
    table = Table(title=f"{take.player}: {len(take)} hits", title_justify="left",
                  box=box.SIMPLE_HEAD, padding=(0, 1))
    for col in ("voice", "hits", "first s", "last s", "velocity"):
        table.add_column(col, justify="left" if col == "voice" else "right")
    by_voice: dict[str, list] = {}
    for h in take.hits:
        by_voice.setdefault(h.voice.value, []).append(h)
    for voice, hits in sorted(by_voice.items()):
        velocities = sorted(h.velocity for h in hits)
        table.add_row(voice.replace("_", " "), str(len(hits)), f"{hits[0].time_s:.3f}",
                      f"{hits[-1].time_s:.3f}", f"{velocities[len(velocities) // 2]}")
    return table


def register(app: typer.Typer) -> None:
    """Add ``drumjam transcribe`` to the app."""

    @app.command()
    def transcribe(
        audio: Annotated[Path, typer.Argument(help="Recording of the drums (WAV, FLAC, OGG, MP3).")],
        json_out: Annotated[bool, typer.Option("--json", help="Print every hit as JSON.")] = False,
        out: Annotated[Optional[Path], typer.Option(
            "--out", help="Also write the hits as a MIDI take (General MIDI drums, channel 10).")] = None,
    ) -> None:
        """Hear which drum was hit, when and how hard: a recording in, hits out."""
        from drumjam.analysis.takes import take_kind
        from drumjam.io.midi import write_midi

        if take_kind(audio) == "midi":
            raise FileFormatError(audio, "is a MIDI file: its hits need no transcription",
                                  "score it with drumjam score, or give a recording")
        if out is not None:
            out = checked_output(out, suffixes=(".mid", ".midi"), inputs=(audio,))
        take = read_any_take(audio)
        if out is not None:
            with replacing(out) as tmp:
                write_midi(tmp, take)
        if json_out:
            print(json.dumps(take_json(take), indent=2))
            return
        if not len(take):
            console.print(f"{audio.name}: no drum hits found (is the recording silent, or only "
                          "the song?)")
            return
        console.print(_voice_table(take))
        if out is not None:
            console.print(f"MIDI take: {out}")
