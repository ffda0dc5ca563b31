"""Peak memory of every path that reads a person's whole audio file, on a two-hour song.

Run from the repository root::

    python benchmarks/memory.py [--minutes 120] [--only analyze,click] [--before REV]
                                                 # prints the table, writes results/memory.md

Made in a temporary folder (deleted afterwards): a 48 kHz stereo 16-bit WAV of a drum groove
(a two-bar pattern of kick, snare and hi-hat; 1.4 GB for two hours) for the command line, the
same groove as a 44.1 kHz stereo OGG/Vorbis file (48 MB, under the jam app's 50 MB upload
limit) for an upload, a zipped song folder with three such stems, and a drum-only MIDI file
as long. Each path runs in a fresh process, which reports its own peak resident memory
(``VmHWM`` from ``/proc/self/status``; ``ru_maxrss`` would carry a forking parent's peak over
through ``exec``). The command-line paths run ``drumjam`` itself; the upload paths call
:func:`drumjam.library.importers.prepare_song` with the uploaded bytes, as the jam app does.
``--before REV`` also runs every path on the code of a git revision, side by side. The limit
each must hold is 1 GB (``docs/limits.md``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
RATE = 48_000
LIMIT_MB = 1024
#: Drum parts end this much before the song: a backing track lasts at most 2 hours.
CHART_SHORT_S = 10.0

#: Writes the process's VmHWM (MB) to the file named by DRUMJAM_HWM when it exits.
REPORT = """
import atexit, os
def _hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(os.environ["DRUMJAM_HWM"], "w").write(str(int(line.split()[1]) / 1024))
atexit.register(_hwm)
"""
CLI = REPORT + "import sys\nfrom drumjam.cli import main\nmain(sys.argv[1:])\n"
MIX = REPORT + """
import sys
from drumjam.analysis.click import mix_click_file
from drumjam.model import BeatMap
frames, sr = mix_click_file(sys.argv[1], sys.argv[2], BeatMap.constant(120.0, float(sys.argv[3])))
print(frames / sr, "s written")
"""
UPLOAD = REPORT + """
import sys, pathlib
from drumjam.library.importers import prepare_song
src, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
work.mkdir()
made = prepare_song(src.name, src.read_bytes(), None, work)
print(made.kind, made.audio, round((work / made.audio).stat().st_size / 1e6, 1), "MB")
"""


def groove_bar(rate: int) -> np.ndarray:
    """Two bars at 120 BPM (4 s), stereo: kick on 1 and 3, snare on 2 and 4, hi-hat eighths."""
    rng = np.random.default_rng(7)
    bar = np.zeros(4 * rate, np.float32)
    t = np.arange(int(0.2 * rate)) / rate
    kick = 0.8 * np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.05)
    snare = 0.5 * rng.standard_normal(t.size) * np.exp(-t / 0.04)
    hat = 0.2 * np.diff(rng.standard_normal(t.size + 1)) * np.exp(-t / 0.01)
    for eighth in range(16):
        start = eighth * rate // 4
        bar[start:start + t.size] += hat
        if eighth % 4 == 0:
            bar[start:start + t.size] += kick
        elif eighth % 4 == 2:
            bar[start:start + t.size] += snare
    bar = np.clip(bar, -1, 1)
    return np.stack([bar, 0.9 * bar], axis=1)


def write_song(path: Path, minutes: float, *, rate: int = RATE, fmt: str = "WAV") -> None:
    """``minutes`` of the groove, written a minute at a time (16-bit WAV or OGG/Vorbis)."""
    minute = np.tile(groove_bar(rate), (15, 1))
    subtype = "PCM_16" if fmt == "WAV" else "VORBIS"
    with sf.SoundFile(path, "w", rate, 2, format=fmt, subtype=subtype) as out:
        whole, part = divmod(minutes, 1.0)
        for k in range(int(whole) + 1):
            block = minute if k < whole else minute[:int(part * minute.shape[0])]
            for start in range(0, block.shape[0], 16384):  # libvorbis: small writes
                out.write(block[start:start + 16384])


def write_folder(zipped: Path, stem: Path, minutes: float) -> None:
    """A zipped rhythm-game song folder: three stems (the groove) and a chart of its kicks,
    which end :data:`CHART_SHORT_S` before the audio (a backing may last 2 hours at most)."""
    beats = int((minutes * 60 - CHART_SHORT_S) * 2)
    notes = "\n".join(f"  {k * 192} = N 0 0" for k in range(0, beats, 2))
    chart = ("[Song]\n{\n  Resolution = 192\n}\n[SyncTrack]\n{\n  0 = TS 4\n  0 = B 120000\n}\n"
             f"[ExpertDrums]\n{{\n{notes}\n}}\n")
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("Long/song.ini", "[song]\nname = Long\nartist = Memory\ndelay = 0\n")
        archive.writestr("Long/notes.chart", chart)
        for name in ("song", "guitar", "rhythm"):
            archive.write(stem, f"Long/{name}.ogg")


def write_drum_midi(path: Path, minutes: float) -> None:
    """A drum-only MIDI file: kick and snare on alternate beats at 120 BPM, ending
    :data:`CHART_SHORT_S` before ``minutes``."""
    import mido

    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000)])
    for k in range(int((minutes * 60 - CHART_SHORT_S) * 2)):
        note = 36 if k % 2 == 0 else 38
        track += [mido.Message("note_on", channel=9, note=note, velocity=100, time=0 if k == 0 else 420),
                  mido.Message("note_off", channel=9, note=note, velocity=0, time=60)]
    mido.MidiFile(tracks=[track], ticks_per_beat=480).save(path)


def run(snippet: str, args: list[str], tmp: Path, src: Path | None) -> tuple[float, float, str]:
    """Peak MB, wall seconds and the last line of output of one fresh process."""
    hwm = tmp / "hwm"
    hwm.unlink(missing_ok=True)
    env = {**os.environ, "DRUMJAM_HWM": str(hwm), "DRUMJAM_HOME": str(tmp / "home")}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", snippet, *args], capture_output=True, text=True,
                          env=env, timeout=3600, check=False)
    wall = time.perf_counter() - t0
    text = (proc.stdout + proc.stderr).strip().splitlines()
    last = text[-1][-90:] if text else ""
    if proc.returncode != 0:
        last = f"exit {proc.returncode}: {last}"
    return (float(hwm.read_text()) if hwm.is_file() else float("nan")), wall, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--only", default="", help="comma-separated path names to run")
    parser.add_argument("--before", default="", help="a git revision to run side by side")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "memory.md")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="drumjam-memory-"))
    try:
        song, ogg, zipped, midi = tmp / "long.wav", tmp / "long.ogg", tmp / "long.zip", tmp / "long.mid"
        write_song(song, args.minutes)
        write_song(ogg, args.minutes, rate=44_100, fmt="OGG")
        write_folder(zipped, ogg, args.minutes)
        write_drum_midi(midi, args.minutes)
        paths = {
            "analyze": ("`drumjam analyze WAV --no-cache --json`", CLI,
                        ["analyze", str(song), "--no-cache", "--json"]),
            "click": ("`drumjam click WAV --out OUT.wav --no-cache`", CLI,
                      ["click", str(song), "--out", str(tmp / "click.wav"), "--no-cache"]),
            "click-mix": ("the click mixed in and written, beat map given (no analysis)", MIX,
                          [str(song), str(tmp / "mix.wav"), str(args.minutes * 60)]),
            "transcribe": ("`drumjam transcribe WAV --json`", CLI, ["transcribe", str(song), "--json"]),
            "upload-audio": ("upload of the OGG: beat analysis", UPLOAD, [str(ogg)]),
            "upload-folder": ("upload of the zipped folder: stems mixed into the backing", UPLOAD,
                              [str(zipped)]),
            "upload-midi": ("upload of the drum-only MIDI: a silent backing", UPLOAD, [str(midi)]),
        }
        versions: dict[str, Path | None] = {"now": None}
        if args.before:
            old = tmp / "before"
            old.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before, "src"],
                                     capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
            rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.before],
                                 capture_output=True, text=True, check=True).stdout.strip()
            versions = {rev: old / "src", "now": None}
        chosen = [p for p in args.only.split(",") if p] or list(paths)
        rows = []
        for name in chosen:
            what, snippet, argv = paths[name]
            for version, src in versions.items():
                extra = [str(tmp / f"work-{name}-{version}")] if snippet is UPLOAD else []
                peak, wall, last = run(snippet, argv + extra, tmp, src)
                rows.append((name, what, version, peak, wall, last))
                print(f"{name} ({version}): {peak:.0f} MB in {wall:.0f} s ({last})", file=sys.stderr,
                      flush=True)
        sizes = f"WAV {song.stat().st_size / 1e9:.2f} GB, OGG {ogg.stat().st_size / 1e6:.0f} MB, " \
                f"zip {zipped.stat().st_size / 1e6:.0f} MB"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [
        f"# Peak memory on a {args.minutes:g}-minute song",
        "",
        "Made by `python benchmarks/memory.py" + (f" --minutes {args.minutes:g}" if args.minutes != 120 else "")
        + (f" --before {args.before}" if args.before else "") + f"` ({sizes}): peak resident memory "
        f"(VmHWM) of a fresh process; load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| path | what runs | code | peak MB | within 1 GB | wall s | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, what, version, peak, wall, last in rows:
        ok = "yes" if peak <= LIMIT_MB else "**no**"
        lines.append(f"| {name} | {what} | {version} | {peak:.0f} | {ok} | {wall:.0f} | "
                     f"{last.replace('|', '/')} |")
    if args.only and args.out.is_file():  # the other paths' rows of the last full run kept
        ran = {tuple(line.split(" | ")[0:3:2]) for line in lines[6:]}
        kept = [line for line in args.out.read_text().splitlines()[6:]
                if line.startswith("| ") and tuple(line.split(" | ")[0:3:2]) not in ran]
        order = {f"| {name}": k for k, name in enumerate(paths)}
        earlier = args.out.read_text().splitlines()[2]
        lines = lines[:6] + sorted(lines[6:] + kept, key=lambda line: (
            order.get(line.split(" | ")[0], 99), line.split(" | ")[2] == "now"))
        lines[2] = f"{earlier} Rows of {args.only} (now) from a later run (`--only {args.only}`)."
    table = "\n".join(lines) + "\n"
    print(table)
    args.out.write_text(table)


if __name__ == "__main__":
    main()
