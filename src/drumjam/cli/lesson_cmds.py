"""``drumjam lesson``: turn a teacher's take into a lesson, practise it, follow progress."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from drumjam.cli.transcribe_cmds import read_any_take
from drumjam.errors import FileFormatError, InputError
from drumjam.lesson.config import PassCriteria, TrainerConfig, check_tempo
from drumjam.model import BeatMap, Take
from drumjam.numtext import readable

console = Console(highlight=False)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
KitOpt = Annotated[
    str | None, typer.Option("--kit", help="Kit map: gm, roland, alesis, yamaha or a JSON file.")
]
StudentOpt = Annotated[str, typer.Option("--student", help="The student's name.")]

_TRAINER = TrainerConfig()
_PASS = PassCriteria()

lesson_app = typer.Typer(
    help="Lessons: a teacher's groove, a tempo trainer, progress.", no_args_is_help=True
)


def _store() -> ModuleType:
    """The lesson store (:mod:`drumjam.store.lessons`, SQLAlchemy), loaded by the commands
    that use it, not for ``--help``."""
    from drumjam.store import lessons

    return lessons


def _emit(data: Any, as_json: bool) -> bool:
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    return as_json


def _tempo_option(tempo_bpm: float | None) -> float | None:
    """``--tempo`` checked (20-400 BPM) before any file is read; None when not given."""
    return None if tempo_bpm is None else check_tempo(tempo_bpm, "--tempo")


def _beatmap(take: Take, tempo_bpm: float | None, path: Path | None) -> BeatMap | None:
    """The beat map a teacher gives (a tempo or a JSON file), or None for the file's own."""
    if tempo_bpm is not None:
        return BeatMap.constant(tempo_bpm, take.duration_s + 240.0 / tempo_bpm)
    if path is None:
        return None
    try:
        return BeatMap.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, AttributeError) as exc:
        detail = str(exc).removeprefix("not a beat map: ")
        raise FileFormatError(
            path,
            f"not a beat map ({detail})",
            'write {"beats": [...], "downbeats": [...], "meter": 4}',
        ) from exc


@lesson_app.command("create")
def create(
    take_path: Annotated[
        Path, typer.Argument(metavar="TAKE",
                             help="The teacher's take: MIDI, or a recording (WAV, FLAC, OGG, MP3).")
    ],
    name: Annotated[str, typer.Option("--name", help="Name of the new lesson.")],
    bars: Annotated[
        str | None,
        typer.Option(
            "--bars", help="Bars to teach, e.g. 1-2 (default: the repeating pattern is found)."
        ),
    ] = None,
    kit: KitOpt = None,
    tempo: Annotated[
        float | None,
        typer.Option(
            "--tempo", help="The click's tempo, BPM, first beat at 0 s (default: the MIDI file's, "
            "or the beats found in the recording)."
        ),
    ] = None,
    beatmap_path: Annotated[
        Path | None,
        typer.Option("--beatmap", help="Beats and bars as JSON (BeatMap.to_dict), instead."),
    ] = None,
    start_pct: Annotated[
        float, typer.Option("--start-pct", help="First tempo, % of the teacher's.")
    ] = 100 * _TRAINER.start_fraction,
    step_pct: Annotated[
        float, typer.Option("--step-pct", help="Tempo step up and down, % of the teacher's.")
    ] = _TRAINER.step_up_pct,
    fails: Annotated[
        int,
        typer.Option(
            "--fails-before-down", help="Failed attempts in a row before the tempo drops."
        ),
    ] = _TRAINER.failures_before_down,
    played_pct: Annotated[
        float, typer.Option("--pass-played-pct", help="To pass: % of the notes played.")
    ] = _PASS.min_played_pct,
    on_time_ms: Annotated[
        float,
        typer.Option("--pass-on-time-ms", help="To pass: a note is on time within this many ms."),
    ] = _PASS.on_time_ms,
    on_time_pct: Annotated[
        float, typer.Option("--pass-on-time-pct", help="To pass: % of the notes on time.")
    ] = _PASS.min_on_time_pct,
    extra_pct: Annotated[
        float,
        typer.Option("--pass-extra-pct", help="To pass: extra hits at most this % of the notes."),
    ] = _PASS.max_extra_pct,
    offset_ms: Annotated[
        float,
        typer.Option(
            "--pass-offset-ms",
            help="To pass: mean offset (rushing or dragging) at most this many ms.",
        ),
    ] = _PASS.max_mean_offset_ms,
    feel: Annotated[
        bool,
        typer.Option("--feel", help="Score against the teacher's microtiming instead of the grid."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Make a lesson from a teacher's take: pattern, grid, swing, dynamics and feel."""
    tempo = _tempo_option(tempo)
    if tempo is not None and beatmap_path is not None:
        raise InputError("give --tempo or --beatmap, not both")
    trainer = TrainerConfig(
        start_fraction=start_pct / 100.0,
        step_up_pct=step_pct,
        step_down_pct=step_pct,
        failures_before_down=fails,
        min_fraction=min(_TRAINER.min_fraction, start_pct / 100.0),
        with_feel=feel,
        criteria=PassCriteria(
            min_played_pct=played_pct,
            on_time_ms=on_time_ms,
            min_on_time_pct=on_time_pct,
            max_extra_pct=extra_pct,
            max_mean_offset_ms=offset_ms,
        ),
    )
    from drumjam.lesson import extract_pattern, parse_bars

    take = read_any_take(take_path, kit_map=kit, find_beats=tempo is None and beatmap_path is None)
    pattern = extract_pattern(take, _beatmap(take, tempo, beatmap_path), bars=parse_bars(bars))
    info = _store().create_lesson(name, pattern, trainer=trainer, source=take_path.name)
    data = {**info, "pattern": pattern.to_dict()}
    if _emit(data, as_json):
        return
    console.print(
        f"lesson [bold]{info['name']}[/bold]: {pattern.bars} bar(s) of {pattern.meter}/"
        f"{pattern.beat_unit} at {pattern.tempo_bpm:.0f} BPM, grid {pattern.grid.value}, "
        f"swing ratio {pattern.swing_ratio:.2f}"
    )
    bars_text = ", ".join(str(b + 1) for b in pattern.source_bars)
    console.print(
        f"taken from bars {bars_text}"
        + (
            f"; left out as fills: {', '.join(str(b + 1) for b in pattern.fill_bars)}"
            if pattern.fill_bars
            else ""
        )
    )
    table = Table(box=box.SIMPLE_HEAD, title="notes per loop and the teacher's feel")
    for col in ("voice", "notes", "accents", "ghosts"):
        table.add_column(col)
    for voice, count in pattern.notes_per_voice().items():
        dyn = [n.dynamic for n in pattern.notes if n.voice.value == voice]
        table.add_row(voice, str(count), str(dyn.count("accent")), str(dyn.count("ghost")))
    console.print(table)
    feel_text = ", ".join(f"{v} {readable(ms, sign=True)} ms"
                          for v, ms in pattern.feel_by_voice_ms().items())
    console.print(f"feel (+ behind the beat): {feel_text}")
    c = trainer.criteria
    console.print(
        f"trainer: start at {trainer.start_fraction:.0%}, steps of {trainer.step_up_pct:g} %; "
        f"a pass needs {c.min_played_pct:g} % of the notes played, {c.min_on_time_pct:g} % "
        f"within {c.on_time_ms:g} ms, at most {c.max_extra_pct:g} % extra hits and a mean "
        f"offset within {c.max_mean_offset_ms:g} ms"
    )


@lesson_app.command("export")
def export(
    name: Annotated[str, typer.Argument(help="The lesson.")],
    musicxml: Annotated[
        Path | None, typer.Option("--musicxml", help="Write the notation as MusicXML here.")
    ] = None,
    svg: Annotated[
        Path | None, typer.Option("--svg", help="Write the engraved notation as SVG here.")
    ] = None,
    png: Annotated[
        Path | None, typer.Option("--png", help="Write the engraved notation as PNG here.")
    ] = None,
) -> None:
    """Write a lesson's pattern as drum notation."""
    if not (musicxml or svg or png):
        raise InputError("say what to write: --musicxml FILE, --svg FILE and/or --png FILE")
    from drumjam.io.outputs import checked_output, replacing
    from drumjam.lesson import pattern_musicxml, render_pattern_files

    outputs = {option: checked_output(path, suffixes=suffixes, option=option)
               for option, path, suffixes in (("--musicxml", musicxml, (".musicxml", ".xml")),
                                              ("--svg", svg, (".svg",)), ("--png", png, (".png",)))
               if path is not None}
    pattern, _, info = _store().load_lesson(name)
    for option, path in outputs.items():
        with replacing(path) as tmp:
            if option == "--musicxml":
                tmp.write_text(pattern_musicxml(pattern, info["name"]), encoding="utf-8")
            else:
                render_pattern_files(pattern, info["name"], **{option[2:] + "_path": tmp})
        console.print(f"wrote {path}")


@lesson_app.command("practise")
def practise(
    name: Annotated[str, typer.Argument(help="The lesson.")],
    attempt: Annotated[
        Path,
        typer.Argument(
            metavar="ATTEMPT",
            help="The student's attempt (MIDI or a recording), played to the click."
        ),
    ],
    student: StudentOpt,
    tempo: Annotated[
        float | None,
        typer.Option(
            "--tempo", help="Tempo it was played at, BPM (default: the trainer's current tempo)."
        ),
    ] = None,
    kit: KitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score an attempt; the tempo trainer says pass or fail and sets the next tempo."""
    tempo = _tempo_option(tempo)
    take = read_any_take(attempt, kit_map=kit, player=student)
    result = _store().practise(name, student, take, tempo_bpm=tempo)
    if _emit(result, as_json):
        return
    verdict = "[green]passed[/green]" if result["passed"] else "[red]not yet[/red]"
    console.print(
        f"{result['student']} at {result['tempo_bpm']:.0f} BPM: {verdict} "
        f"({result['loops']} loop(s): {result['played_pct']:.0f} % played, "
        f"{result['on_time_pct']:.0f} % on time)"
    )
    for line in result["feedback"]:
        console.print(f"  - {line}")
    file_bpm = take.beatmap.tempo_bpm if take.beatmap is not None else None
    if file_bpm and abs(file_bpm / result["tempo_bpm"] - 1) > 0.03:
        console.print(
            f"[yellow]note:[/yellow] {attempt.name} says {file_bpm:.0f} BPM but was scored at "
            f"{result['tempo_bpm']:.0f} BPM; give --tempo {file_bpm:.0f} if that is what you played"
        )
    change = {"up": "faster", "down": "slower", "same": "same tempo", "mastered": "mastered!"}
    console.print(f"next: {result['next_tempo_bpm']:.0f} BPM ({change[result['change']]})")


@lesson_app.command("progress")
def progress(
    name: Annotated[str, typer.Argument(help="The lesson.")],
    student: Annotated[
        str | None,
        typer.Option("--student", help="The student (default: every student, in short)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A student's tempo, passes and attempts on a lesson (or where every student stands)."""
    if student is None:
        _all_students(name, as_json)
        return
    data = _store().progress(name, student)
    if _emit(data, as_json):
        return
    console.print(
        f"{data['student']} on {data['lesson']}: {data['tempo_bpm']:.0f} of "
        f"{data['target_bpm']:.0f} BPM ({data['tempo_pct_of_target']:.0f} %), "
        f"{data['passes']} of {data['attempts']} attempts passed"
        + (", mastered" if data["mastered"] else "")
    )
    table = Table(box=box.SIMPLE_HEAD)
    for col in ("#", "at", "BPM", "passed", "played %", "on time %", "next BPM"):
        table.add_column(col)
    for h in data["history"]:
        table.add_row(
            str(h["attempt"]),
            h["at"],
            f"{h['tempo_bpm']:.0f}",
            "yes" if h["passed"] else "no",
            f"{h['played_pct']:.0f}",
            f"{h['on_time_pct']:.0f}",
            f"{h['next_tempo_bpm']:.0f}",
        )
    console.print(table)


def _all_students(name: str, as_json: bool) -> None:
    rows = _store().students(name)
    if _emit(rows, as_json):
        return
    table = Table(box=box.SIMPLE_HEAD, title=f"students of {name}")
    for col in ("student", "BPM", "% of target", "passed", "attempts", "best BPM", "mastered"):
        table.add_column(col)
    for r in rows:
        best = r["best_passed_bpm"]
        table.add_row(
            r["student"],
            f"{r['tempo_bpm']:.0f}",
            f"{r['tempo_pct_of_target']:.0f}",
            str(r["passes"]),
            str(r["attempts"]),
            "–" if best is None else f"{best:.0f}",
            "yes" if r["mastered"] else "no",
        )
    console.print(table if rows else f"nobody has practised {name} yet")


@lesson_app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Every lesson."""
    rows = _store().list_lessons()
    if _emit(rows, as_json):
        return
    table = Table(box=box.SIMPLE_HEAD)
    for col in ("name", "bars", "grid", "swing", "BPM", "notes", "from"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"],
            str(r["bars"]),
            r["grid"],
            f"{r['swing_ratio']:.2f}",
            f"{r['tempo_bpm']:.0f}",
            str(r["notes"]),
            r["source"],
        )
    console.print(table if rows else "no lessons yet: drumjam lesson create TAKE.mid --name NAME")


@lesson_app.command("rename")
def rename(
    name: Annotated[str, typer.Argument(help="The lesson.")],
    new_name: Annotated[str, typer.Argument(help="Its new name.")],
    as_json: JsonOpt = False,
) -> None:
    """Give a lesson another name; students keep their attempts and progress."""
    info = _store().rename_lesson(name, new_name)
    if not _emit(info, as_json):
        console.print(f"lesson {name!r} is now {info['name']!r}")


@lesson_app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="The lesson.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a lesson with its students' attempts and progress on it."""
    if not yes:
        attempts = sum(s["attempts"] for s in _store().students(name))
        typer.confirm(f"delete lesson {name!r} and its {attempts} attempt(s)?", abort=True)
    gone = _store().delete_lesson(name)
    if not _emit(gone, as_json):
        console.print(f"deleted lesson {gone['name']!r} ({gone['attempts']} attempt(s) of "
                      f"{gone['students']} student(s))")


def register(app: typer.Typer) -> None:
    """Add ``drumjam lesson ...`` to the app."""
    app.add_typer(lesson_app, name="lesson")
