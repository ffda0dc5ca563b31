"""``drumjam batch score|duet|analyze|transcribe``: many items on a Dask cluster, one table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from drumjam.cli.scoring_cmds import (ChannelOpt, GoodOpt, GreatOpt, GridOpt, KitOpt, PerfectOpt,
                                      StrictOpt)

console = Console(highlight=False, stderr=True)

SourceArg = Annotated[str, typer.Argument(
    help="A folder (searched recursively), a glob pattern in quotes ('takes/**/*.mid') or a CSV "
    "manifest.")]
OutOpt = Annotated[Path, typer.Option(
    "--out", "-o", help="Result table: .parquet or .csv. Items already in it are skipped.")]
WorkersOpt = Annotated[Optional[int], typer.Option(
    "--workers", help="Worker processes of the local cluster (default: one per core).")]
SchedulerOpt = Annotated[Optional[str], typer.Option(
    "--scheduler", help="A running Dask scheduler, tcp://HOST:8786, instead of a local cluster.")]
RetryOpt = Annotated[bool, typer.Option(
    "--retry-failed", help="Do the items that failed in an earlier run again.")]
ChartOpt = Annotated[Optional[Path], typer.Option(
    "--chart", help="One chart for every take (a manifest's chart column overrides it).")]
MeterOpt = Annotated[Optional[int], typer.Option("--meter", help="Beats per bar, if known.")]


def _run(command: str, source: str, out: Path, workers: int | None, scheduler: str | None,
         retry_failed: bool, **options: object) -> None:
    from drumjam.batch import collect_items, run_batch
    from drumjam.batch.table import SUFFIXES
    from drumjam.batch.tasks import Settings
    from drumjam.io.outputs import checked_output

    checked_output(out, suffixes=SUFFIXES)  # before any item is done
    items = collect_items(command, source)
    summary = run_batch(command, items, out, settings=Settings(**options), workers=workers,
                        scheduler=scheduler, retry_failed=retry_failed)
    console.print(
        f"batch {command}: {summary.items} items · {summary.skipped} already in {out} · "
        f"{summary.ok} done · {summary.failed} failed · {summary.lost} lost"
        + (f" · {summary.items_per_s:.1f} items/s on {summary.workers} workers"
           if summary.done else ""))
    if summary.failed or summary.lost:
        console.print(f"each item's error is in the error column of {out}"
                      + ("; run the same command again to redo the lost items" if summary.lost else ""))
    if summary.items > summary.skipped and not summary.ok:
        raise typer.Exit(1)  # nothing was done: a script must not go on as if it had


def register(app: typer.Typer) -> None:
    """Add the ``batch`` command group to the app."""
    batch = typer.Typer(help="Score, pair or analyse many files on a Dask cluster into one table.",
                        no_args_is_help=True)
    app.add_typer(batch, name="batch")

    batch.command(name="score", help="Score every take (as `drumjam score`); manifest columns: "
                  "take[, chart, grid].")(_scoring_command("score"))
    batch.command(name="duet", help="Measure pairs of takes against each other (as `drumjam "
                  "duet`); manifest columns: take_a, take_b[, chart, grid]; a folder or pattern "
                  "pairs the files that share a name.")(_scoring_command("duet"))

    @batch.command()
    def analyze(source: SourceArg, out: OutOpt, meter: MeterOpt = None,
                workers: WorkersOpt = None, scheduler: SchedulerOpt = None,
                retry_failed: RetryOpt = False) -> None:
        """Beats, downbeats and tempo of every audio file (as `drumjam analyze`); manifest
        columns: audio[, meter]."""
        _run("analyze", source, out, workers, scheduler, retry_failed, meter=meter)

    @batch.command()
    def transcribe(source: SourceArg, out: OutOpt, workers: WorkersOpt = None,
                   scheduler: SchedulerOpt = None, retry_failed: RetryOpt = False) -> None:
        """The drum hits of every audio file (counts per voice); manifest column: audio."""
        _run("transcribe", source, out, workers, scheduler, retry_failed)


def _scoring_command(command: str):  # noqa: ANN202 (a Typer command function)
    def run(source: SourceArg, out: OutOpt, chart: ChartOpt = None, grid: GridOpt = 16,
            kit: KitOpt = None, channel: ChannelOpt = None, strict: StrictOpt = False,
            perfect_ms: PerfectOpt = 20.0, great_ms: GreatOpt = 45.0, good_ms: GoodOpt = 90.0,
            workers: WorkersOpt = None, scheduler: SchedulerOpt = None,
            retry_failed: RetryOpt = False) -> None:
        _run(command, source, out, workers, scheduler, retry_failed,
             chart=None if chart is None else str(chart), grid=grid, kit=kit, channel=channel,
             strict=strict, perfect_ms=perfect_ms, great_ms=great_ms, good_ms=good_ms)

    return run
