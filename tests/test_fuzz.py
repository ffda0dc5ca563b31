"""Fuzzing the public loaders with mutated real files: only clear project errors, no hangs,
bounded memory.

Seeds are real files (Groove MIDI Dataset takes, a Clone Hero chart, a WAV and a zipped song
folder made here); each example flips, overwrites, deletes or repeats a few bytes (or, for the
chart text, swaps numbers for absurd ones) with a fixed random seed, so every run tries the
same examples. Each kind runs in a child process whose address space is capped and whose
every example has a time limit; the child reports any other exception, hang or memory
failure with the example's bytes saved for replay (``python tests/test_fuzz.py KIND N SEED
SEED_FILE OUT_DIR`` reruns a kind by hand).
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import traceback
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

#: Address space of the child process (the interpreter with numpy and scipy needs ~1 GB).
ADDRESS_SPACE = 2560 * 2**20
#: Longest any one example may take, and the most resident memory the child may reach.
EXAMPLE_S = 5.0
MAX_RSS_MB = 700
#: Examples per kind: the whole file stays around a minute on two cores.
EXAMPLES = {"midi": 200, "chart": 300, "wav": 250, "zip": 40}
INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF)
INTERESTING_NUMBERS = ("0", "-1", "1", "nan", "inf", "-inf", "1e12", "4294967296",
                       "99999999999999999999999", "1000000000000", "0.5", "x")

CHART = """[Song]
{
  Name = "Fuzz"
  Resolution = 192
  Offset = 0
}
[SyncTrack]
{
  0 = TS 4
  0 = B 120000
  768 = B 90000
  1536 = TS 3 2
}
[ExpertDrums]
{
  0 = N 0 0
  0 = N 2 0
  0 = N 66 0
  192 = N 1 0
  384 = N 2 0
  576 = N 1 0
  768 = N 3 0
  768 = N 67 0
  960 = N 4 0
  1152 = N 5 0
  1536 = N 32 0
}
"""


# ---------------------------------------------------------------- mutators
def mutate_bytes(data: bytes, rng: random.Random, head: int = 0) -> bytes:
    """A few byte-level edits; with ``head``, half of them fall in the first ``head`` bytes."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not b:
            b = bytearray(b"\x00")
        span = head if head and rng.random() < 0.5 else len(b)
        i = rng.randrange(min(span, len(b)))
        op = rng.randrange(5)
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.choice(INTERESTING_BYTES)
        elif op == 2:
            n = rng.choice((2, 4, 8))
            b[i:i + n] = bytes([rng.choice(INTERESTING_BYTES)]) * n
        elif op == 3:
            del b[i:i + rng.randint(1, 16)]
        else:
            j = rng.randrange(len(b))
            b[i:i] = b[j:j + rng.randint(1, 64)]
    return bytes(b)


def mutate_chart(text: str, rng: random.Random) -> bytes:
    """Numbers swapped for absurd ones, lines dropped or repeated, or a byte-level edit."""
    lines = text.splitlines()
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        op = rng.randrange(4)
        if op == 0:
            numbers = list(re.finditer(r"-?\d+", lines[i]))
            if numbers:
                m = rng.choice(numbers)
                lines[i] = lines[i][:m.start()] + rng.choice(INTERESTING_NUMBERS) + lines[i][m.end():]
        elif op == 1:
            del lines[i]
        elif op == 2:
            lines.insert(i, lines[rng.randrange(len(lines))])
        else:
            return mutate_bytes("\n".join(lines).encode(), rng)
    return "\n".join(lines).encode()


# ---------------------------------------------------------------- the child process
def _load(kind: str, path: Path, work: Path) -> None:
    from drumjam.io.audio import load_audio
    from drumjam.io.midi import read_take
    from drumjam.io.songfolder import load_chart, read_dot_chart

    if kind == "midi":
        read_take(path)
        load_chart(path)
    elif kind == "chart":
        read_dot_chart(path)
    elif kind == "wav":
        load_audio(path)
        load_audio(path, sample_rate=22050, mono=False)
    else:
        from drumjam.library.importers import prepare_song

        prepare_song("song.zip", path.read_bytes(), None, work)


class _Hang(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Hang()


def worker(kind: str, count: int, seed: int, seed_file: Path, out_dir: Path) -> dict:
    """Run ``count`` mutated examples of ``seed_file`` through the loaders of ``kind``."""
    from drumjam.errors import DrumjamError

    rng = random.Random(seed)
    data = seed_file.read_bytes()
    signal.signal(signal.SIGALRM, _on_alarm)
    failures: list[dict] = []
    clear = 0
    name = {"midi": "take.mid", "chart": "notes.chart", "wav": "take.wav", "zip": "song.zip"}[kind]
    with tempfile.TemporaryDirectory() as tmp:  # the seed itself loads: imports happen here
        (Path(tmp) / name).write_bytes(data)
        _load(kind, Path(tmp) / name, Path(tmp))
    for k in range(count):
        if kind == "chart":
            example = mutate_chart(data.decode(), rng)
        else:
            example = mutate_bytes(data, rng, head=64 if kind == "wav" else 0)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(example)
            problem = None
            signal.setitimer(signal.ITIMER_REAL, EXAMPLE_S)
            try:
                _load(kind, path, Path(tmp))
            except DrumjamError as exc:
                clear += 1
                if not str(exc).strip():
                    problem = f"{type(exc).__name__} without a message"
            except _Hang:
                problem = f"took more than {EXAMPLE_S} s"
            except BaseException as exc:  # noqa: BLE001 - anything else is what we look for
                problem = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-500:]
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        if problem:
            saved = out_dir / f"{kind}-{k}{Path(name).suffix}"
            saved.write_bytes(example)
            failures.append({"example": k, "problem": problem, "saved": str(saved)})
    rss_mb = _peak_rss_mb()
    return {"failures": failures, "clear_errors": clear, "examples": count, "max_rss_mb": rss_mb}


def _peak_rss_mb() -> float:
    """This process's peak resident memory since it started (VmHWM: unlike ru_maxrss, which
    Linux carries over through exec from the parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- seeds and the tests
def _wav_seed() -> bytes:
    t = np.arange(4410) / 22050
    x = np.stack([0.5 * np.sin(2 * np.pi * 220 * t), 0.3 * np.sin(2 * np.pi * 330 * t)], axis=1)
    buf = io.BytesIO()
    sf.write(buf, x, 22050, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _zip_seed() -> bytes:
    song = io.BytesIO()
    t = np.arange(2205) / 22050
    sf.write(song, 0.5 * np.sin(2 * np.pi * 220 * t), 22050, format="WAV", subtype="PCM_16")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Fuzz/song.ini", "[song]\nname = Fuzz\nartist = Seed\ndelay = 0\n")
        archive.writestr("Fuzz/notes.chart", CHART)
        archive.writestr("Fuzz/song.wav", song.getvalue())
    return buf.getvalue()


def _midi_seed(groove_midi: Path) -> bytes:
    # a short real take with tempo, time signature and every kind of drum note
    files = sorted(groove_midi.glob("drummer1/eval_session/*.mid"), key=lambda p: p.stat().st_size)
    return files[0].read_bytes()


def _run_kind(kind: str, seed_bytes: bytes, tmp_path: Path) -> dict:
    seed_file = tmp_path / f"seed-{kind}"
    seed_file.write_bytes(seed_bytes)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, __file__, kind, str(EXAMPLES[kind]), "20261130", str(seed_file), str(tmp_path)],
        capture_output=True, text=True, timeout=EXAMPLES[kind] * EXAMPLE_S, preexec_fn=cap, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", ["midi", "chart", "wav", "zip"])
def test_mutated_files_give_only_clear_errors(kind: str, tmp_path: Path, groove_midi: Path) -> None:
    seed = {"midi": lambda: _midi_seed(groove_midi), "chart": lambda: CHART.encode(),
            "wav": _wav_seed, "zip": _zip_seed}[kind]()
    report = _run_kind(kind, seed, tmp_path)
    assert report["failures"] == [], json.dumps(report["failures"][:10], indent=1)
    # the mutations reach the checks: many examples are refused, with a message
    assert report["clear_errors"] >= report["examples"] // 10
    assert report["max_rss_mb"] < MAX_RSS_MB


def test_mutators_are_deterministic_and_change_the_input() -> None:
    data = bytes(range(256))
    a = [mutate_bytes(data, random.Random(5)) for _ in range(3)]
    assert a[0] == a[1] == a[2] and a[0] != data
    assert mutate_chart(CHART, random.Random(7)) == mutate_chart(CHART, random.Random(7))
    assert mutate_chart(CHART, random.Random(7)) != CHART.encode()


if __name__ == "__main__":
    kind_arg, count_arg, seed_arg, seed_path, out = sys.argv[1:6]
    print(json.dumps(worker(kind_arg, int(count_arg), int(seed_arg), Path(seed_path), Path(out))))
