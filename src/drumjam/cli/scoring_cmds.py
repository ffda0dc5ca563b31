"""``drumjam score``, ``drumjam duet`` and ``drumjam demo``."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from drumjam.cli.transcribe_cmds import read_any_take
from drumjam.errors import InputError
from drumjam.io.midi import read_take
from drumjam.io.outputs import checked_output, replacing
from drumjam.io.songfolder import load_chart
from drumjam.numtext import readable
from drumjam.scoring.config import ScoringConfig

if TYPE_CHECKING:
    from drumjam.scoring import DuetResult, TakeScore

console = Console(highlight=False)

DEMO_CREDIT = (
    "Demo takes: Groove MIDI Dataset (Gillick, Roberts, Engel, Eck & Bamman, ICML 2019), "
    "CC BY 4.0, https://magenta.tensorflow.org/datasets/groove"
)

ChartOpt = Annotated[Optional[Path], typer.Option(
    "--chart", help="The notes to play: a MIDI file, a Clone Hero .chart or a rhythm-game song folder.")]
GridOpt = Annotated[int, typer.Option("--grid", help="Without a chart: grid subdivision (4, 8, 12, 16, 24, 32).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
KitOpt = Annotated[Optional[str], typer.Option("--kit", help="Kit map: gm, roland, alesis, yamaha or a JSON file.")]
ChannelOpt = Annotated[Optional[int], typer.Option("--channel", help="Drum MIDI channel 1-16 (default: found).")]
ReportOpt = Annotated[Optional[Path], typer.Option("--report", help="Also write an HTML report here.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Match exact voices, not voice groups.")]
PerfectOpt = Annotated[float, typer.Option("--perfect-ms", help="Perfect window, ms.")]
GreatOpt = Annotated[float, typer.Option("--great-ms", help="Great window, ms.")]
#: What an HTML report may be called.
REPORT_SUFFIXES = (".html", ".htm")
GoodOpt = Annotated[float, typer.Option("--good-ms", help="Matching window, ms.")]


def _config(strict: bool, perfect: float, great: float, good: float) -> ScoringConfig:
    return ScoringConfig(perfect_ms=perfect, great_ms=great, good_ms=good, strict_voices=strict)


def player_names(paths: list[Path]) -> list[str]:
    """Short distinct names for takes: the file names, or the folders that tell them apart."""
    names = [p.stem for p in paths]
    if len(set(names)) == len(names):
        return names
    parts = [p.resolve().parts for p in paths]
    for depth in range(2, max(len(x) for x in parts) + 1):
        cand = [x[-depth] if len(x) >= depth else x[0] for x in parts]
        if len(set(cand)) == len(cand):
            return cand
    return [f"{n} ({i + 1})" for i, n in enumerate(names)]


def _any_midi(*paths: Path) -> bool:
    """Whether any take is MIDI (whose beat map a grid is built on before any found in audio)."""
    from drumjam.analysis.takes import take_kind

    return any(take_kind(p) == "midi" for p in paths)


def _fmt(x: float | None, signed: bool = True) -> str:
    return readable(x, 1, sign=signed)


def score_table(score: TakeScore) -> Table:
    """A Rich table of a score's per-voice figures."""
    table = Table(title=f"{score.player}: ms (+ late, - early), drift in ms/bar, score in %,"
                  " accents/ghost notes", title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    for col in ("voice", "hits", "miss", "extra", "mean", "SD", "|med|", "drift", "score",
                "acc/gh"):
        table.add_column(col, justify="left" if col == "voice" else "right", no_wrap=True,
                         min_width=12 if col == "voice" else max(len(col), 5))
    rows = [("all", score.overall)] + sorted(score.voices.items())
    for name, s in rows:
        table.add_row(name.replace("_", " "), str(s.matched), str(s.missed), str(s.extra),
                      _fmt(s.mean_offset_ms), _fmt(s.sd_offset_ms, False),
                      _fmt(s.median_abs_offset_ms, False), _fmt(s.drift_ms_per_bar),
                      f"{s.accuracy_pct:.0f}", f"{s.accents}/{s.ghost_notes}")
    return table


def _print_duet(duet: DuetResult) -> None:
    for score in duet.players:
        console.print(score_table(score))
    a, b = duet.alpha
    within = f"{100 * duet.within_20ms:.0f}%" if duet.async_ms.size else "–"  # no shared note
    console.print(
        f"pairs {duet.async_ms.size} · mean asynchrony A−B {_fmt(duet.mean_async_ms)} ms · "
        f"SD {_fmt(duet.sd_async_ms, False)} ms · within ±20 ms {within} · "
        f"α A {readable(a, 2)} / B {readable(b, 2)}"
        f" · leader {duet.leader or '–'}"
    )
    console.print(f"[bold]{duet.summary}[/bold]")


def register(app: typer.Typer) -> None:
    """Add the scoring commands to the app."""

    @app.command()
    def score(
        take: Annotated[Path, typer.Argument(
            help="The played take: a MIDI file or a recording of the drums (WAV, FLAC, OGG, MP3).")],
        chart: ChartOpt = None,
        grid: GridOpt = 16,
        json_out: JsonOpt = False,
        kit: KitOpt = None,
        channel: ChannelOpt = None,
        report: ReportOpt = None,
        strict: StrictOpt = False,
        perfect_ms: PerfectOpt = 20.0,
        great_ms: GreatOpt = 45.0,
        good_ms: GoodOpt = 90.0,
    ) -> None:
        """Score one take against a chart or the beat grid."""
        from drumjam.scoring import score_take

        cfg = _config(strict, perfect_ms, great_ms, good_ms)
        if report:
            report = checked_output(report, suffixes=REPORT_SUFFIXES, inputs=(take, chart),
                                    option="--report")
        if kit and not chart and not _any_midi(take):
            raise InputError(f"--kit maps the notes of MIDI files, and {take} is a recording "
                             "with no chart: leave --kit out")
        target = load_chart(chart, kit_map=kit) if chart else None
        played = read_any_take(take, kit_map=kit, channel=channel, find_beats=target is None)
        result = score_take(played, target, grid=None if target else grid, config=cfg)
        if report:
            from drumjam.report import write_take_report

            with replacing(report) as tmp:
                write_take_report(result, tmp, title=played.player)
        if json_out:
            print(json.dumps(result.to_dict(), indent=2))
            return
        console.print(score_table(result))
        if report:
            console.print(f"report: {report}")

    @app.command()
    def duet(
        take_a: Annotated[Path, typer.Argument(help="Player A's take: MIDI or a recording.")],
        take_b: Annotated[Path, typer.Argument(help="Player B's take: MIDI or a recording.")],
        chart: ChartOpt = None,
        grid: GridOpt = 16,
        json_out: JsonOpt = False,
        kit: KitOpt = None,
        channel: ChannelOpt = None,
        report: ReportOpt = None,
        strict: StrictOpt = False,
        names: Annotated[Optional[str], typer.Option("--names", help="Player names, 'A,B'.")] = None,
        perfect_ms: PerfectOpt = 20.0,
        great_ms: GreatOpt = 45.0,
        good_ms: GoodOpt = 90.0,
    ) -> None:
        """Score two takes of one song and measure them against each other."""
        from drumjam.scoring import analyse_duet
        from drumjam.scoring.duet import takes_beatmap

        cfg = _config(strict, perfect_ms, great_ms, good_ms)
        if names:
            given = [n.strip() for n in names.split(",")]
            if len(given) != 2 or not all(given) or given[0] == given[1]:
                raise InputError(f"--names {names!r} must be two different names separated by "
                                 "a comma")
        else:
            given = player_names([take_a, take_b])
        if report:
            report = checked_output(report, suffixes=REPORT_SUFFIXES,
                                    inputs=(take_a, take_b, chart), option="--report")
        target = load_chart(chart, kit_map=kit) if chart else None
        midi = [_any_midi(path) for path in (take_a, take_b)]
        # --channel is the MIDI take's (refused where both takes are recordings)
        a, b = (read_any_take(path, kit_map=kit, player=name,
                              channel=channel if is_midi or not any(midi) else None,
                              find_beats=first and target is None and not any(midi))
                for path, name, is_midi, first in zip((take_a, take_b), given, midi,
                                                      (True, False)))
        shared = None if target else takes_beatmap(
            a, b, fix="give --chart with the song both played along, to score both on its grid")
        result = analyse_duet(a, b, target, grid=None if target else grid, beatmap=shared,
                              config=cfg)
        if report:
            from drumjam.report import write_duet_report

            with replacing(report) as tmp:
                write_duet_report(result, tmp, title=f"{a.player} & {b.player}")
        if json_out:
            print(json.dumps(result.to_dict(), indent=2))
            return
        _print_duet(result)
        if report:
            console.print(f"report: {report}")

    @app.command()
    def demo(
        report: Annotated[Path, typer.Option("--report", help="Where to write the HTML report.")] = Path(
            "drumjam-demo-report.html"),
        json_out: JsonOpt = False,
    ) -> None:
        """A real duet: two drummers of the Groove MIDI Dataset play the same pop groove."""
        from drumjam.report import write_duet_report
        from drumjam.scoring import analyse_duet

        report = checked_output(report, suffixes=REPORT_SUFFIXES, option="--report")
        folder = resources.files("drumjam") / "data" / "demo"
        with resources.as_file(folder) as demo_dir:
            a = read_take(demo_dir / "drummer1_pop-groove7_138.mid", player="drummer 1")
            b = read_take(demo_dir / "drummer7_pop-groove7_138.mid", player="drummer 7")
        result = analyse_duet(a, b, grid=16)
        with replacing(report) as tmp:
            write_duet_report(result, tmp, title="Pop groove 7 at 138 BPM", credit=DEMO_CREDIT)
        if json_out:
            print(json.dumps(result.to_dict(), indent=2))
            return
        console.print("[bold]drumjam demo[/bold]: two drummers, one groove, one click "
                      "(recorded separately and lined up on the click).")
        _print_duet(result)
        console.print(f"report: {report.resolve()}")
        console.print(DEMO_CREDIT)
