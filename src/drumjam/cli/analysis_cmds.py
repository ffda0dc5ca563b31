"""``drumjam analyze`` and ``drumjam click``: beat maps and click tracks of songs.

The analysis stack (NumPy DSP, the bundled network, soxr) is imported when one of these
commands runs, not when any ``drumjam`` command starts; it needs no librosa and no JIT
compilation, so ``drumjam analyze`` starts in well under a CPU second more than ``drumjam
--help`` (``benchmarks/startup.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from drumjam.errors import InputError
from drumjam.io.outputs import checked_output, replacing
from drumjam.model import BeatMap
from drumjam.model.beatmap import TEMPO_CORRECTIONS

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

BackendOpt = Annotated[str, typer.Option("--backend", help="Tracker: drumjam or beat_this.")]
MeterOpt = Annotated[int | None, typer.Option("--meter", help="Beats per bar, if known.")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Analyse again; do not use the cache.")]
TempoFixOpt = Annotated[str | None, typer.Option(
    "--tempo", help="Correct a tempo found at half or twice the real one: double or half.")]
ShiftOpt = Annotated[int, typer.Option(
    "--shift-downbeat", help='Move "one" this many beats later (negative: earlier).')]
SteadyOpt = Annotated[bool, typer.Option(
    "--steady", help="Keep each beat on the fitted grid instead of moving it half-way to where "
    "it was played (for songs recorded to a click; drumjam backend).")]
CheckpointOpt = Annotated[str | None, typer.Option(
    "--checkpoint", help="beat_this backend: checkpoint name (downloaded once; default final0) "
    "or .ckpt file.")]


def _analyse(song: Path, backend: str, meter: int | None, no_cache: bool, *,
             checkpoint: str | None = None, tempo: str | None = None, shift_downbeat: int = 0,
             steady: bool = False) -> BeatMap:
    from drumjam.analysis import BACKENDS, analyse_audio

    if backend not in BACKENDS:
        raise InputError(f"unknown backend '{backend}'; use one of {', '.join(BACKENDS)}")
    if tempo not in (None, *TEMPO_CORRECTIONS):  # before the analysis, not after it
        raise InputError(f"--tempo {tempo} is unknown; use double or half")
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err_console, transient=True,
                  disable=not err_console.is_terminal) as progress:
        progress.add_task(f"Analysing {song.name} ({backend})", total=None)
        options = {} if checkpoint is None else {"checkpoint": checkpoint}
        beatmap = analyse_audio(song, backend=backend, use_cache=not no_cache, meter=meter,
                                follow_played=not steady, **options)
    return beatmap.corrected(tempo, downbeat_shift=shift_downbeat)


def beatmap_json(beatmap: BeatMap) -> dict:
    """The JSON printed by ``drumjam analyze --json`` (seconds; tempo curve per section)."""
    from drumjam.analysis.grid import tempo_sections

    data = beatmap.to_dict()
    sections = tempo_sections(beatmap.beats_s)
    data["tempo_sections"] = [{"start_s": round(t, 4), "tempo_bpm": round(b, 3)} for t, b in sections]
    return data


def register(app: typer.Typer) -> None:
    """Add ``analyze`` and ``click`` to the app."""

    @app.command("analyze")
    def analyze(
        song: Annotated[Path, typer.Argument(help="Audio file: WAV, FLAC, OGG or MP3.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the beat map as JSON.")] = False,
        out: Annotated[Path | None, typer.Option("--out", help="Write the beat map JSON here.")] = None,
        backend: BackendOpt = "drumjam",
        meter: MeterOpt = None,
        tempo: TempoFixOpt = None,
        shift_downbeat: ShiftOpt = 0,
        no_cache: NoCacheOpt = False,
        steady: SteadyOpt = False,
        checkpoint: CheckpointOpt = None,
    ) -> None:
        """Find the tempo, beats, downbeats and metre of a song."""
        if out is not None:
            out = checked_output(out, suffixes=(".json",), inputs=(song,))
        beatmap = _analyse(song, backend, meter, no_cache, checkpoint=checkpoint, tempo=tempo,
                           shift_downbeat=shift_downbeat, steady=steady)
        data = beatmap_json(beatmap)
        if out is not None:
            with replacing(out) as tmp:
                tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        if as_json:
            print(json.dumps(data))
            return
        console.print(f"[bold]{song.name}[/bold]")
        console.print(f"  tempo       {beatmap.tempo_bpm:.1f} BPM")
        if len(data["tempo_sections"]) > 1:
            for s in data["tempo_sections"]:
                console.print(f"    from {s['start_s']:7.2f} s  {s['tempo_bpm']:.1f} BPM")
        console.print(f"  metre       {beatmap.meter}/{beatmap.beat_unit}")
        console.print(f"  beats       {beatmap.beats_s.size} ({beatmap.start_s:.2f}-{beatmap.end_s:.2f} s)")
        console.print(f"  downbeats   {beatmap.downbeats_s.size}, first at {beatmap.downbeats_s[0]:.3f} s"
                      if beatmap.downbeats_s.size else "  downbeats   none")
        console.print(f"  confidence  {beatmap.confidence:.2f}")
        if out is not None:
            console.print(f"  written to  {out}")

    @app.command("click")
    def click(
        song: Annotated[Path, typer.Argument(help="Audio file: WAV, FLAC, OGG or MP3.")],
        out: Annotated[Path, typer.Option("--out", help="Where to write the song with the click.")],
        click_db: Annotated[float, typer.Option("--click-db", help="Click level vs the song's peak, dB.")] = -6.0,
        backend: BackendOpt = "drumjam",
        meter: MeterOpt = None,
        tempo: TempoFixOpt = None,
        shift_downbeat: ShiftOpt = 0,
        no_cache: NoCacheOpt = False,
        steady: SteadyOpt = False,
    ) -> None:
        """Write the song with a click on every beat (accented downbeats)."""
        from drumjam.analysis.click import mix_click_file
        from drumjam.io.audio import AUDIO_OUT_SUFFIXES, audio_info, check_writable

        if not -60.0 <= click_db <= 12.0:
            raise InputError(f"--click-db {click_db} is out of range; use -60 to 12 dB")
        out = checked_output(out, suffixes=AUDIO_OUT_SUFFIXES, inputs=(song,))
        check_writable(out, audio_info(song).channels)
        beatmap = _analyse(song, backend, meter, no_cache, tempo=tempo, shift_downbeat=shift_downbeat,
                           steady=steady)
        with replacing(out) as tmp:
            frames, sr = mix_click_file(song, tmp, beatmap, click_gain_db=click_db)
        console.print(f"{out}: {beatmap.beats_s.size} clicks at {beatmap.tempo_bpm:.1f} BPM, "
                      f"{beatmap.meter} beats per bar, {frames / sr:.1f} s")
