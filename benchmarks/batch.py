"""Throughput of ``drumjam batch score`` on a Dask LocalCluster, and its numbers against the
one-file command.

Every take of ../shared/data/groove-midi is scored against the 16th-note grid by the
``drumjam batch score`` command with 1 and with 2 worker processes (a fresh table each time),
and, as the peer without Dask, by a plain loop over the same per-item function in one process.
Scaling efficiency = throughput(2 workers) / (2 x throughput(1 worker)); throughput counts
from the first task to the last (the cluster's start-up and the workers' imports are in the
wall-clock column only). The load average after each run shows what else the cores did. Then a sample of takes
is scored by ``drumjam score TAKE --json`` and every figure compared with the batch table's.
``python benchmarks/batch.py [--limit N] [--sample 12]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from drumjam.batch import collect_items
from drumjam.batch.tasks import Settings, run_item

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "groove-midi"
DRUMJAM = str(Path(sys.executable).with_name("drumjam"))
SUMMARY = re.compile(r"(\d+) done · (\d+) failed · (\d+) lost · ([\d.]+) items/s on (\d+) workers")


def batch_cli(source: str, out: Path, workers: int) -> dict:
    """Run ``drumjam batch score`` once; its summary line and wall-clock time."""
    start = time.perf_counter()
    done = subprocess.run([DRUMJAM, "batch", "score", source, "--out", str(out), "--workers",
                           str(workers)], capture_output=True, text=True, check=True)
    wall_s = time.perf_counter() - start
    found = SUMMARY.search(" ".join(done.stderr.split()))
    if found is None:
        raise SystemExit(f"no summary in the output of drumjam batch score:\n{done.stderr}")
    ok, failed, lost, rate, n = found.groups()
    return {"ok": int(ok), "failed": int(failed), "lost": int(lost), "items_per_s": float(rate),
            "workers": int(n), "wall_s": wall_s}


def serial(items: list) -> dict:
    """The same per-item function in a loop in this process, no Dask."""
    start = time.perf_counter()
    rows = [run_item("score", item, Settings()) for item in items]
    seconds = time.perf_counter() - start
    return {"ok": sum(r["status"] == "ok" for r in rows), "failed": sum(r["status"] != "ok" for r in rows),
            "lost": 0, "items_per_s": len(rows) / seconds, "workers": 1, "wall_s": seconds}


def loaded(run, *args) -> dict:  # noqa: ANN001
    """``run(*args)`` with the 1-minute load average after it (what else the cores were doing)."""
    result = run(*args)
    result["load"] = os.getloadavg()[0]
    return result


def compare(table: Path, sample: list[str]) -> tuple[int, int]:
    """(figures equal, figures compared) between the batch table and ``drumjam score --json``."""
    rows = {r["item"]: r for r in pq.read_table(table).to_pylist()}
    equal = total = 0
    for take in sample:
        done = subprocess.run([DRUMJAM, "score", take, "--json"], capture_output=True, text=True,
                              check=True)
        for key, value in json.loads(done.stdout).items():
            expected = json.dumps(value) if isinstance(value, dict | list) else value
            total += 1
            equal += rows[take].get(key) == expected
    return equal, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N takes")
    parser.add_argument("--sample", type=int, default=12, help="takes checked against drumjam score")
    args = parser.parse_args()
    items = collect_items("score", str(DATA))[: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        source = str(DATA)
        if args.limit:
            source = str(Path(tmp) / "takes.csv")
            Path(source).write_text("take\n" + "".join(f"{i.key}\n" for i in items))
        runs = {"in-process loop, no Dask": loaded(serial, items)}
        for workers in (1, 2):
            runs[f"drumjam batch score, LocalCluster {workers} worker{'s' * (workers > 1)}"] = (
                loaded(batch_cli, source, Path(tmp) / f"w{workers}.parquet", workers))
        sample = random.Random(0).sample([i.key for i in items], min(args.sample, len(items)))
        equal, total = compare(Path(tmp) / "w2.parquet", sample)

    one = runs["drumjam batch score, LocalCluster 1 worker"]["items_per_s"]
    two = runs["drumjam batch score, LocalCluster 2 workers"]["items_per_s"]
    print(f"{len(items)} takes of the Groove MIDI Dataset, grid 16; {os.cpu_count()} cores\n")
    print("| run | ok | failed | lost | takes/s | wall s (with start-up) | load average after |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in runs.items():
        print(f"| {name} | {r['ok']} | {r['failed']} | {r['lost']} | {r['items_per_s']:.1f} | "
              f"{r['wall_s']:.1f} | {r['load']:.1f} |")
    print(f"\nscaling efficiency 1 -> 2 workers: {two / (2 * one):.0%}")
    print(f"same as `drumjam score --json` on {len(sample)} sampled takes: {equal}/{total} figures equal")


if __name__ == "__main__":
    main()
