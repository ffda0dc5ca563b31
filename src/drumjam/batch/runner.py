"""Running a batch on ``dask.distributed``: a LocalCluster, or the scheduler of a real cluster."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumjam.batch.items import Item
from drumjam.batch.table import check_output, read_rows, write_rows
from drumjam.batch.tasks import FAILED, LOST, OK, Settings, run_items, warm_up
from drumjam.errors import InputError

#: Seconds between rewrites of the result table while a batch runs.
FLUSH_S = 5.0
#: Most items done in one Dask task. A task costs the scheduler a few ms, as much as scoring a
#: short take, so items travel in groups; yet every worker gets at least 16 tasks to balance.
MAX_ITEMS_PER_TASK = 16


def items_per_task(items: int, workers: int) -> int:
    """How many items each task does: 1 for small batches, up to MAX_ITEMS_PER_TASK."""
    return max(1, min(MAX_ITEMS_PER_TASK, items // (16 * max(workers, 1))))


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did.

    Parameters
    ----------
    items : int
        Items of the batch.
    skipped : int
        Items already in the result table, not done again.
    ok, failed, lost : int
        Items done in this run: scored, failed (the item's own error, e.g. an unreadable
        file) and lost (their worker died; a rerun does them again).
    seconds : float
        Wall-clock time of this run, cluster start-up (and the workers' imports) excluded.
    workers : int
        Dask workers the run had.
    """

    items: int
    skipped: int
    ok: int
    failed: int
    lost: int
    seconds: float
    workers: int

    @property
    def done(self) -> int:
        """Items done in this run."""
        return self.ok + self.failed + self.lost

    @property
    def items_per_s(self) -> float:
        """Throughput of this run."""
        return self.done / self.seconds if self.seconds > 0 else 0.0


@contextlib.contextmanager
def dask_client(*, workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A ``dask.distributed`` client: of the cluster at ``scheduler`` (``tcp://HOST:8786``), or
    of a LocalCluster of ``workers`` single-threaded worker processes (default: one per core)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError("drumjam batch needs Dask: pip install 'drumjam[batch]'") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise InputError(f"no Dask scheduler answers at {scheduler} ({exc}); start one with "
                             "`dask scheduler` or leave out --scheduler for a local cluster") from None
        with client:
            yield client
        return
    if workers is not None and workers < 1:
        raise InputError(f"--workers {workers}: give 1 or more")
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    with cluster, Client(cluster) as client:
        yield client


def run_batch(
    command: str,
    items: list[Item],
    out: Path,
    *,
    settings: Settings = Settings(),
    workers: int | None = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    progress: bool = True,
) -> BatchSummary:
    """Do every item not yet in the result table ``out`` on a Dask cluster.

    Parameters
    ----------
    command : {"score", "duet", "analyze", "transcribe"}
        What to do with each item (:mod:`drumjam.batch.tasks`).
    items : list of Item
        From :func:`drumjam.batch.collect_items`.
    out : Path
        The result table (``.parquet`` or ``.csv``). Items already there with status ``ok``
        (or ``failed``, unless ``retry_failed``) are skipped; ``lost`` ones are done again.
        The table is rewritten every few seconds while the batch runs, so an interrupted
        batch resumes where it stopped.
    settings : Settings
        Options shared by every item.
    workers : int, optional
        Worker processes of the LocalCluster (default: one per core).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:8786``) instead of a LocalCluster.
    retry_failed : bool
        Do the items that failed before again.
    on_row : callable, optional
        Called with each finished row, as it arrives.
    progress : bool
        Show a Rich progress bar on stderr.
    """
    out = check_output(Path(out))
    earlier = read_rows(out)
    keep_status = {OK} if retry_failed else {OK, FAILED}
    kept = {r["item"]: r for r in earlier if r.get("status") in keep_status}
    todo = [item for item in items if item.key not in kept]
    rows = list(kept.values())
    counts = {OK: 0, FAILED: 0, LOST: 0}
    if not todo:
        return BatchSummary(len(items), len(items) - len(todo), 0, 0, 0, 0.0, 0)
    with dask_client(workers=workers, scheduler=scheduler) as client:
        n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
        client.run(warm_up, command)  # imports are start-up, not work
        start = time.perf_counter()
        size = items_per_task(len(todo), n_workers)
        groups = [todo[i:i + size] for i in range(0, len(todo), size)]
        task = functools.partial(run_items, command, settings=settings)
        futures = dict(zip(client.map(task, groups, pure=False), groups))
        with _progress(progress, len(todo), command) as advance:
            flushed = time.monotonic()
            try:
                for future in _as_completed(futures):
                    for row in _rows(future, futures[future]):
                        rows.append(row)
                        counts[row["status"]] += 1
                        advance(row)
                        if on_row is not None:
                            on_row(row)
                    future.release()
                    if time.monotonic() - flushed > FLUSH_S:
                        write_rows(out, _sorted(rows))
                        flushed = time.monotonic()
            finally:
                write_rows(out, _sorted(rows))
        seconds = time.perf_counter() - start
    return BatchSummary(len(items), len(items) - len(todo), counts[OK], counts[FAILED],
                        counts[LOST], seconds, n_workers)


def _as_completed(futures: dict) -> Iterator[Any]:
    from dask.distributed import as_completed

    return as_completed(list(futures))


def _rows(future: Any, items: list[Item]) -> list[dict[str, Any]]:
    if future.status == "finished":
        return future.result()
    exc = future.exception()
    error = f"{type(exc).__name__}: {exc} (its worker died; run the batch again to redo it)"
    return [{"item": item.key, "status": LOST, "seconds": None, "error": error} for item in items]


@contextlib.contextmanager
def _progress(show: bool, total: int, command: str) -> Iterator[Callable[[dict], None]]:
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    console = Console(stderr=True)
    with Progress(TextColumn(f"batch {command}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, disable=not show,
                  transient=False) as bar:
        task = bar.add_task(command, total=total, failed=0)
        failed = 0

        def advance(row: dict) -> None:
            nonlocal failed
            failed += row["status"] != OK
            bar.update(task, advance=1, failed=failed)

        yield advance


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: str(row["item"]))
