"""``drumjam batch`` on a Dask LocalCluster: the one-file commands' numbers, one row per item,
bad files and manifests, resuming, and a worker killed in the middle of a batch.

One cluster (2 worker processes) serves the whole module; its scheduler gives a task up the
first time its worker dies (``allowed-failures`` 0), so a killed worker leaves ``lost`` rows.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys

import dask
import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from dask.distributed import Client, LocalCluster

from drumjam.batch import collect_items, run_batch
from drumjam.batch.table import read_rows
from drumjam.batch.tasks import Settings, run_item
from drumjam.cli import main
from drumjam.errors import FileFormatError, InputError

SAMPLE = [  # grooves of four styles by four drummers (one scored on eighth triplets)
    "drummer1/eval_session/1_funk-groove1_138_beat_4-4.mid",
    "drummer7/eval_session/3_soul-groove3_86_beat_4-4.mid",
    "drummer5/eval_session/8_rock-groove8_65_beat_4-4.mid",
    "drummer8/session1/10_neworleans-funk_82_beat_4-4.mid",
]


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """The module's cluster; its workers keep their caches in a DRUMJAM_HOME of their own."""
    with pytest.MonkeyPatch.context() as env, dask.config.set(
            {"distributed.scheduler.allowed-failures": 0}):
        env.setenv("DRUMJAM_HOME", str(tmp_path_factory.mktemp("workers-home")))
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
    with cluster:
        yield cluster.scheduler_address


def _cli_json(capsys, *args) -> dict:
    """What the one-file command prints with --json."""
    with pytest.raises(SystemExit) as exited:
        main(list(args) + ["--json"])
    assert exited.value.code == 0
    return json.loads(capsys.readouterr().out)


def test_batch_score_equals_the_one_file_command_and_resumes(scheduler, groove_midi, tmp_path, capsys):
    takes = [str(groove_midi / p) for p in SAMPLE]
    for path in takes:
        assert os.path.isfile(path), path
    manifest = tmp_path / "takes.csv"
    manifest.write_text("take,grid\n" + "".join(f"{p},{12 if i == 1 else 16}\n" for i, p in enumerate(takes)))
    out = tmp_path / "scores.parquet"
    summary = run_batch("score", collect_items("score", str(manifest)), out, scheduler=scheduler,
                        progress=False)
    assert (summary.ok, summary.failed, summary.lost, summary.workers) == (4, 0, 0, 2)
    rows = {r["item"]: r for r in pq.read_table(out).to_pylist()}
    assert sorted(rows) == sorted(takes)
    for i, path in enumerate(takes):
        expected = _cli_json(capsys, "score", path, "--grid", "12" if i == 1 else "16")
        got = rows[path]
        for key, value in expected.items():
            assert got[key] == (json.dumps(value) if isinstance(value, dict | list) else value), key

    again = run_batch("score", collect_items("score", str(manifest)), out, scheduler=scheduler,
                      progress=False)
    assert (again.skipped, again.done) == (4, 0)


def test_bad_files_fail_their_own_rows_and_the_batch_finishes(scheduler, groove_midi, tmp_path):
    good = groove_midi / SAMPLE[0]
    (tmp_path / "notes.mid").write_text("not a MIDI file")
    (tmp_path / "manifest.csv").write_text(f"take\n{good}\nnotes.mid\nmissing.mid\n")
    out = tmp_path / "scores.csv"
    summary = run_batch("score", collect_items("score", str(tmp_path / "manifest.csv")), out,
                        scheduler=scheduler, progress=False)
    assert (summary.ok, summary.failed) == (1, 2)
    rows = {os.path.basename(r["item"]): r for r in read_rows(out)}
    assert rows[good.name]["status"] == "ok" and float(rows[good.name]["matched"]) > 100
    assert rows["notes.mid"]["status"] == "failed" and "notes.mid" in rows["notes.mid"]["error"]
    assert rows["missing.mid"]["status"] == "failed" and "missing.mid" in rows["missing.mid"]["error"]
    # failed items stay failed on a rerun, unless asked
    assert run_batch("score", collect_items("score", str(tmp_path / "manifest.csv")), out,
                     scheduler=scheduler, progress=False).done == 0
    retried = run_batch("score", collect_items("score", str(tmp_path / "manifest.csv")), out,
                        scheduler=scheduler, progress=False, retry_failed=True)
    assert (retried.skipped, retried.failed) == (1, 2)


def test_bad_manifests_and_sources_are_refused_before_any_work(tmp_path, capsys):
    manifest = tmp_path / "pairs.csv"
    manifest.write_text("take_a,player\na.mid,Ann\n")
    with pytest.raises(FileFormatError, match=r"pairs.csv: has no column take_b .*needs take_a, take_b"):
        collect_items("duet", str(manifest))
    (tmp_path / "empty.csv").write_text("take\n")
    with pytest.raises(FileFormatError, match="has no rows"):
        collect_items("score", str(tmp_path / "empty.csv"))
    with pytest.raises(InputError, match="holds no .mid/.midi/.wav/.flac.* files"):
        collect_items("score", str(tmp_path))
    with pytest.raises(InputError, match="unknown batch command 'mix'"):
        collect_items("mix", str(tmp_path))
    with pytest.raises(SystemExit) as exited:
        main(["batch", "duet", str(manifest), "--out", str(tmp_path / "r.parquet")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no column take_b" in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["batch", "score", str(manifest), "--out", str(tmp_path / "r.xlsx")])
    assert "drumjam writes .parquet or .csv here" in capsys.readouterr().err


def test_duets_pair_takes_of_the_same_groove_as_the_duet_command(scheduler, groove_midi, tmp_path, capsys):
    pattern = str(groove_midi / "drummer[17]" / "eval_session" / "[12]_*.mid")
    items = collect_items("duet", pattern)
    assert len(items) == 2 and all(" | " in item.key for item in items)
    out = tmp_path / "duets.parquet"
    assert run_batch("duet", items, out, scheduler=scheduler, progress=False).ok == 2
    for row in pq.read_table(out).to_pylist():
        a, b = row["item"].split(" | ")
        expected = _cli_json(capsys, "duet", a, b)
        assert row["sync_mean_async_ms"] == expected["sync"]["mean_async_ms"]
        assert row["summary"] == expected["summary"]
        assert row["a_matched"] == expected["players"][0]["matched"]


def test_analyze_finds_the_tempo_and_transcribe_says_what_is_missing(scheduler, tmp_path, monkeypatch):
    sr, tempo_bpm = 22050, 120.0
    audio = np.zeros(int(12 * sr), dtype=np.float32)
    for k, start_s in enumerate(np.arange(0.5, 11.5, 60.0 / tempo_bpm)):
        n = int(start_s * sr)
        audio[n:n + 400] += (1.0 if k % 4 == 0 else 0.5) * np.hanning(400) * np.sin(np.arange(400) * 0.6)
    sf.write(tmp_path / "clicks.wav", audio, sr)
    out = tmp_path / "beats.parquet"
    assert run_batch("analyze", collect_items("analyze", str(tmp_path)), out,
                     scheduler=scheduler, progress=False).ok == 1
    row = pq.read_table(out).to_pylist()[0]
    assert row["tempo_bpm"] == pytest.approx(tempo_bpm, rel=0.02) and row["beats"] >= 20

    monkeypatch.setitem(sys.modules, "drumjam.analysis.transcribe", None)  # as if not installed
    item = collect_items("transcribe", str(tmp_path))[0]
    row = run_item("transcribe", item, Settings())
    assert row["status"] == "failed" and "drum transcription is not available" in row["error"]


def test_a_worker_killed_mid_batch_loses_only_its_items_and_a_rerun_does_them(scheduler, groove_midi, tmp_path):
    takes = sorted(groove_midi.rglob("*.mid"), key=lambda p: -p.stat().st_size)[:16]
    manifest = tmp_path / "long.csv"
    manifest.write_text("take\n" + "".join(f"{p}\n" for p in takes))
    with Client(scheduler) as client:
        victim = next(iter(client.run(os.getpid).values()))
    killed = []

    def kill_once(_row):
        if not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    out = tmp_path / "scores.parquet"
    first = run_batch("score", collect_items("score", str(manifest)), out, scheduler=scheduler,
                      progress=False, on_row=kill_once)
    rows = read_rows(out)
    assert killed and len(rows) == 16 and first.lost >= 1 and first.ok + first.lost == 16
    lost = {r["item"] for r in rows if r["status"] == "lost"}
    assert all("worker died" in r["error"] for r in rows if r["item"] in lost)

    rerun = run_batch("score", collect_items("score", str(manifest)), out, scheduler=scheduler,
                      progress=False)
    assert (rerun.skipped, rerun.ok) == (16 - len(lost), len(lost))
    assert {r["status"] for r in read_rows(out)} == {"ok"}


def test_a_duet_of_takes_on_different_tempo_maps_fails_its_row_asking_for_the_chart(tmp_path):
    from drumjam.batch.items import Item
    from drumjam.io.midi import write_midi
    from drumjam.model import BeatMap, Hit, Take

    paths = []
    for name, bpm in (("ana.mid", 120.0), ("ben.mid", 100.0)):
        bm = BeatMap.constant(bpm, 8.0)
        write_midi(tmp_path / name, Take(tuple(Hit(t, "snare") for t in bm.beats_s[:8]), beatmap=bm))
        paths.append(str(tmp_path / name))
    row = run_item("duet", Item("ana | ben", tuple(paths), {}), Settings())
    assert row["status"] == "failed"
    assert "different beat maps" in row["error"] and "manifest's chart column" in row["error"]
    same = run_item("duet", Item("ana | ana", (paths[0], paths[0]), {}), Settings())
    assert same["status"] == "ok" and same["sync_pairs"] == 8
