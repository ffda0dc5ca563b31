"""Render the Groove MIDI Dataset into training audio with exact drum labels.

Each groove (a real performance, ``../shared/data/groove-midi``) is played with one kit of the
sample bank (``training/kits.py``), hit by hit, from each stroke's velocity layer, so every
label is exact to the sample. The result is made to sound like a real recording, with every
choice drawn from a seeded random generator:

- mix: per-drum level (±4 dB), per-hit level (±1 dB), hi-hat choke (an open hi-hat is cut by
  the next closed or pedal stroke);
- other percussion (claps, shakers, cowbells, congas, ...) as unlabelled negatives;
- microphone and room: random EQ (shelves and a peak), a synthetic room (early reflections and
  an exponentially decaying tail, RT60 0.15-1.0 s), compression, saturation;
- drums inside music: a backing part (bass, chords and a lead line rendered by FluidSynth
  with random General MIDI instruments) mixed under the drums in about half the renders;
- noise, a band limit (cheap microphones), and an overall level from -30 to 0 dBFS.

Drummers 5 and 8 and two kits are held out for validation (``split`` = ``val``).

``python training/render.py [--renders-per-groove 2] [--max-s 90] [--jobs 2]`` writes
``$DRUMJAM_TRAIN_CACHE/renders/{train,val}/*.npz`` (features ``x`` as float16, labels
``(time_s, class, velocity)``); existing renders are kept, so it resumes.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import zlib
from multiprocessing import Pool
from pathlib import Path

import mido
import numpy as np
from scipy import signal

from drumjam.analysis.drumnet import CLASSES, SAMPLE_RATE, features
from drumjam.io.midi import read_take
from drumjam.model import Voice

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kits import CACHE, CLASS_NAMES, ELECTRONIC_KITS, PERCUSSION, Kit, build_bank, load_kit  # noqa: E402

GROOVE = Path(__file__).resolve().parents[2] / "shared" / "data" / "groove-midi"
VAL_DRUMMERS = {"drummer5", "drummer8"}
VAL_KITS = {"avl_red_zeppelin", "Millo_MultiLayered3"}
PERCUSSION_ONLY_KITS = {"Gimme A Hand 1.0", "circAfrique v4"}
CLASS_INDEX = {name: i for i, name in enumerate(CLASS_NAMES)}
VOICE_CLASS = {Voice.SNARE_RIM: "snare", Voice.CHINA: "crash", Voice.SPLASH: "crash"}
FALLBACK = {"hihat_pedal": "hihat_closed", "hihat_open": "hihat_closed", "side_stick": "snare",
            "ride_bell": "ride", "ride": "crash", "crash": "ride", "tom_high": "tom_mid",
            "tom_mid": "tom_high", "tom_floor": "tom_mid"}


def mel_basis() -> np.ndarray:
    """The network's mel filter bank (librosa's Slaney mel, 30 Hz-11 kHz)."""
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=1024, n_mels=80, fmin=30.0,
                               fmax=11000.0).astype(np.float32)


# ---------------------------------------------------------------- backing parts
PROGRESSIONS = [(0, 7, 9, 5), (0, 5, 7, 5), (9, 5, 0, 7), (0, 9, 5, 7), (2, 7, 0, 0)]
MAJOR = (0, 2, 4, 5, 7, 9, 11)


def backing_midi(rng: np.random.Generator, path: Path, *, seconds: float = 40.0) -> None:
    """A random pop backing (bass, chords, lead) as a General MIDI file without drums."""
    bpm = float(rng.uniform(70, 170))
    tpb = 480
    beat_s = 60.0 / bpm
    mid = mido.MidiFile(ticks_per_beat=tpb)
    key = int(rng.integers(0, 12))
    prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    parts = [(0, int(rng.integers(32, 40)), 36), (1, int(rng.choice([0, 1, 4, 16, 19, 24, 25, 27,
                                                                     29, 48, 50, 89, 90])), 60),
             (2, int(rng.choice([56, 61, 65, 66, 71, 73, 80, 81, 11, 12])), 72)]
    n_beats = int(seconds / beat_s)
    for ch, program, base in parts:
        if ch == 2 and rng.random() < 0.4:
            continue
        events: list[tuple[int, mido.Message]] = []
        tr = mido.MidiTrack()
        mid.tracks.append(tr)
        if ch == 0:
            tr.append(mido.MetaMessage("set_tempo", tempo=int(beat_s * 1e6)))
        tr.append(mido.Message("program_change", channel=ch, program=program))
        for beat in range(n_beats):
            root = key + prog[(beat // 4) % len(prog)]
            t0 = beat * tpb
            if ch == 0:  # bass: eighths on the root and fifth
                for half in range(2):
                    note = base + root % 12 + (7 if half and rng.random() < 0.3 else 0)
                    events.append((t0 + half * tpb // 2, mido.Message(
                        "note_on", channel=ch, note=note, velocity=int(rng.integers(70, 110)))))
                    events.append((t0 + half * tpb // 2 + tpb // 2 - 10, mido.Message(
                        "note_off", channel=ch, note=note)))
            elif ch == 1 and (beat % 2 == 0 or rng.random() < 0.3):  # chords
                for iv in (0, 4 if (root - key) % 12 in (0, 5, 7) else 3, 7):
                    note = base + root % 12 + iv
                    events.append((t0, mido.Message("note_on", channel=ch, note=note,
                                                     velocity=int(rng.integers(50, 95)))))
                    events.append((t0 + 2 * tpb - 20, mido.Message("note_off", channel=ch,
                                                                    note=note)))
            elif ch == 2 and rng.random() < 0.6:  # lead line
                note = base + (key + MAJOR[int(rng.integers(7))]) % 12
                events.append((t0, mido.Message("note_on", channel=ch, note=note,
                                                 velocity=int(rng.integers(60, 110)))))
                events.append((t0 + tpb - 20, mido.Message("note_off", channel=ch, note=note)))
        events.sort(key=lambda e: (e[0], e[1].type == "note_on"))
        last = 0
        for tick, msg in events:
            tr.append(msg.copy(time=tick - last))
            last = tick
    mid.save(path)


def build_backing_pool(n: int = 40, folder: Path = CACHE / "backing") -> list[Path]:
    """Render ``n`` backing parts with FluidSynth (kept between runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    fonts = ["/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf3/MuseScore_General_Full.sf3",
             "/usr/share/sounds/sf2/TimGM6mb.sf2"]
    out = []
    for i in range(n):
        path = folder / f"backing{i:03d}.npy"
        if not path.is_file():
            rng = np.random.default_rng(10_000 + i)
            with tempfile.TemporaryDirectory() as tmp:
                midi = Path(tmp) / "b.mid"
                backing_midi(rng, midi)
                wav = Path(tmp) / "b.wav"
                subprocess.run(["fluidsynth", "-n", "-i", "-q", "-g", "0.5", "-r", str(SAMPLE_RATE),
                                "-T", "wav", "-O", "float", "-F", str(wav), fonts[i % len(fonts)],
                                str(midi)], check=True, capture_output=True, timeout=600)
                import soundfile as sf

                audio, _ = sf.read(str(wav), dtype="float32", always_2d=True)
                np.save(path, audio.mean(axis=1))
        out.append(path)
    return out


# ---------------------------------------------------------------- effects
def biquad(kind: str, f0: float, gain_db: float, q: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """RBJ cookbook peaking / shelving / low-pass filter coefficients at the network's rate."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * f0 / SAMPLE_RATE
    cw, sw = np.cos(w), np.sin(w)
    alpha = sw / (2 * q)
    if kind == "peak":
        b = [1 + alpha * a, -2 * cw, 1 - alpha * a]
        den = [1 + alpha / a, -2 * cw, 1 - alpha / a]
    elif kind == "lowshelf":
        s = 2 * np.sqrt(a) * alpha
        b = [a * ((a + 1) - (a - 1) * cw + s), 2 * a * ((a - 1) - (a + 1) * cw),
             a * ((a + 1) - (a - 1) * cw - s)]
        den = [(a + 1) + (a - 1) * cw + s, -2 * ((a - 1) + (a + 1) * cw), (a + 1) + (a - 1) * cw - s]
    elif kind == "highshelf":
        s = 2 * np.sqrt(a) * alpha
        b = [a * ((a + 1) + (a - 1) * cw + s), -2 * a * ((a - 1) + (a + 1) * cw),
             a * ((a + 1) + (a - 1) * cw - s)]
        den = [(a + 1) - (a - 1) * cw + s, 2 * ((a - 1) - (a + 1) * cw), (a + 1) - (a - 1) * cw - s]
    else:  # lowpass
        b = [(1 - cw) / 2, 1 - cw, (1 - cw) / 2]
        den = [1 + alpha, -2 * cw, 1 - alpha]
    return np.array(b) / den[0], np.array(den) / den[0]


def random_eq(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    for kind, lo, hi in (("lowshelf", 60, 300), ("peak", 300, 5000), ("highshelf", 3000, 9000)):
        b, a = biquad(kind, float(rng.uniform(lo, hi)), float(rng.uniform(-8, 8)),
                      q=float(rng.uniform(0.5, 2.0)) if kind == "peak" else 0.7)
        x = signal.lfilter(b, a, x)
    return x


def room_ir(rng: np.random.Generator) -> np.ndarray:
    """A synthetic room: the direct sound, early reflections and a decaying noise tail."""
    rt60 = float(rng.uniform(0.15, 1.0))
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    b, a = biquad("lowpass", float(rng.uniform(3000, 10000)), 0.0)
    tail = signal.lfilter(b, a, tail)
    tail[: int(0.005 * SAMPLE_RATE)] = 0.0
    ir = tail / (np.sqrt(np.sum(tail ** 2)) + 1e-9) * float(rng.uniform(0.2, 0.9))
    for _ in range(int(rng.integers(2, 7))):
        k = int(rng.uniform(0.002, 0.03) * SAMPLE_RATE)
        if k < n:
            ir[k] += float(rng.uniform(-0.5, 0.5))
    ir[0] = 1.0
    return ir


def compress(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A feed-forward RMS compressor (5 ms attack-ish smoothing, ratio 2-6)."""
    level = np.sqrt(signal.lfilter([0.004], [1, -0.996], x ** 2) + 1e-12)
    thr = float(np.percentile(level, 90)) * float(rng.uniform(0.2, 0.7))
    ratio = float(rng.uniform(2, 6))
    gain = np.where(level > thr, (thr / level) ** (1 - 1 / ratio), 1.0)
    return x * gain


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2) + 1e-12))


# ---------------------------------------------------------------- rendering
def _pick(shots: list[tuple[int, np.ndarray]], velocity: int, rng: np.random.Generator,
          ) -> tuple[np.ndarray, float]:
    """The one-shot for a velocity (the first layer at or above it) and the extra gain."""
    v = int(np.clip(velocity + rng.integers(-8, 9), 1, 127))
    for layer_v, x in shots:
        if layer_v >= v:
            break
    gain = (velocity / max(layer_v, 1)) ** (1.2 if len(shots) < 3 else 1.0)
    return x, float(np.clip(gain, 0.05, 1.5))


def render_groove(midi: Path, kit: Kit, *, rng: np.random.Generator, perc: list[np.ndarray],
                  backing: list[Path], max_s: float) -> tuple[np.ndarray, np.ndarray]:
    """One training example: mixed audio and labels ``(time_s, class, velocity 0-1)``."""
    take = read_take(midi, kit_map="roland")
    hits = [h for h in take.hits if h.time_s < max_s]
    length = int((max((h.time_s for h in hits), default=0.0) + 3.0) * SAMPLE_RATE)
    mix = np.zeros(length, np.float64)
    class_gain = {c: 10 ** (rng.uniform(-4, 4) / 20) for c in CLASS_NAMES}
    labels = []
    hats = np.zeros(length, np.float64)  # open hi-hats, apart so that a closing foot cuts them
    open_hat: tuple[int, int] | None = None  # (start, end) of the ringing open hi-hat
    for h in hits:
        cls = VOICE_CLASS.get(h.voice, h.voice.value)
        for _ in range(3):  # a kit without this drum: its nearest sound, labelled as such
            if cls in kit.sounds or cls not in FALLBACK:
                break
            cls = FALLBACK[cls]
        if cls not in CLASS_INDEX or cls not in kit.sounds:
            continue
        shot, gain = _pick(kit.sounds[cls], h.velocity, rng)
        start = int(round(h.time_s * SAMPLE_RATE))
        if cls in ("hihat_closed", "hihat_pedal") and open_hat and open_hat[1] > start:
            span = open_hat[1] - start
            ramp = np.zeros(span)
            fade = min(int(0.015 * SAMPLE_RATE), span)
            ramp[:fade] = np.linspace(1.0, 0.0, fade)
            hats[start:open_hat[1]] *= ramp  # the foot closes the hi-hat: it stops ringing
            open_hat = None
        end = min(length, start + len(shot))
        g = gain * class_gain[cls] * 10 ** (rng.uniform(-1, 1) / 20)
        (hats if cls == "hihat_open" else mix)[start:end] += g * shot[: end - start]
        if cls == "hihat_open":
            open_hat = (start, end)
        labels.append((h.time_s, CLASS_INDEX[cls], h.velocity / 127.0))
    mix += hats
    if perc and rng.random() < 0.35:
        beat_s = 60.0 / float(rng.uniform(70, 160))
        shot = perc[int(rng.integers(len(perc)))]
        level = rms(mix) * 10 ** (rng.uniform(-12, 3) / 20) / (rms(shot) + 1e-9)
        for t in np.arange(rng.uniform(0, beat_s), length / SAMPLE_RATE - 1, beat_s / 2):
            if rng.random() < 0.7:
                s = int(t * SAMPLE_RATE)
                e = min(length, s + len(shot))
                mix[s:e] += level * shot[: e - s] * rng.uniform(0.5, 1.0)
    x = mix
    if rng.random() < 0.8:
        x = random_eq(x, rng)
    if rng.random() < 0.7:
        x = signal.oaconvolve(x, room_ir(rng))[:length]
    if rng.random() < 0.4:
        x = compress(x, rng)
    if rng.random() < 0.1:
        drive = float(rng.uniform(1.5, 5))
        x = np.tanh(drive * x / (np.max(np.abs(x)) + 1e-9)) / np.tanh(drive)
    if backing and rng.random() < 0.5:
        music = np.load(backing[int(rng.integers(len(backing)))])
        reps = int(np.ceil(length / len(music)))
        music = np.tile(music, reps)[:length]
        music = music * rms(x) / (rms(music) + 1e-9) * 10 ** (-rng.uniform(-6, 12) / 20)
        x = x + music
    if rng.random() < 0.5:
        noise = rng.standard_normal(length)
        if rng.random() < 0.5:
            noise = signal.lfilter([1.0], [1.0, -0.97], noise)  # reddish
        x = x + noise * rms(x) / rms(noise) * 10 ** (-rng.uniform(15, 50) / 20)
    if rng.random() < 0.15:
        b, a = biquad("lowpass", float(rng.uniform(4000, 9000)), 0.0)
        x = signal.lfilter(b, a, x)
    x = x / (np.max(np.abs(x)) + 1e-9) * 10 ** (rng.uniform(-30, -0.5) / 20)
    return x.astype(np.float32), np.array(labels, np.float32).reshape(-1, 3)


def grooves() -> list[tuple[Path, str]]:
    """Every groove with its split (``val`` for the held-out drummers)."""
    rows = list(csv.DictReader(open(GROOVE / "info.csv")))
    return [(GROOVE / r["midi_filename"], "val" if r["drummer"] in VAL_DRUMMERS else "train")
            for r in rows if (GROOVE / r["midi_filename"]).is_file()]


_STATE: dict = {}


def _init(bank_paths: list[Path], backing: list[Path]) -> None:
    kits = [load_kit(p) for p in bank_paths]
    _STATE["kits"] = {k.name: k for k in kits}
    _STATE["perc"] = [x for k in kits for _, x in k.sounds.get(PERCUSSION, [])]
    _STATE["backing"] = backing
    _STATE["mel"] = mel_basis()


def _kit_for(split: str, rng: np.random.Generator) -> Kit:
    names = sorted(n for n in _STATE["kits"] if n not in PERCUSSION_ONLY_KITS
                   and len(_STATE["kits"][n].sounds) >= 5)
    pool = [n for n in names if (n in VAL_KITS) == (split == "val")] if split == "val" else \
        [n for n in names if n not in VAL_KITS]
    weights = np.array([0.35 if n in ELECTRONIC_KITS else 1.0 for n in pool])
    return _STATE["kits"][pool[int(rng.choice(len(pool), p=weights / weights.sum()))]]


def _render_one(job: tuple[Path, str, int, Path, float]) -> str:
    midi, split, k, out, max_s = job
    if out.is_file():
        return "kept"
    seed = zlib.crc32(f"{midi.relative_to(GROOVE)}#{k}".encode())
    rng = np.random.default_rng(seed)
    kit = _kit_for(split, rng)
    audio, labels = render_groove(midi, kit, rng=rng, perc=_STATE["perc"],
                                  backing=_STATE["backing"], max_s=max_s)
    if len(labels) == 0:
        return "empty"
    x = features(audio, _STATE["mel"]).astype(np.float16)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, x=x, labels=labels, kit=np.array(kit.name))
    tmp.rename(out)
    return "done"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--renders-per-groove", type=int, default=2)
    ap.add_argument("--max-s", type=float, default=90.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="only the first N grooves (a quick try)")
    args = ap.parse_args()
    bank = build_bank()
    backing = build_backing_pool()
    jobs = []
    items = grooves()[: args.limit or None]
    for k in range(args.renders_per_groove):
        for midi, split in items:
            name = str(midi.relative_to(GROOVE)).replace("/", "__").removesuffix(".mid")
            if split == "val" and k > 0:
                continue
            jobs.append((midi, split, k, CACHE / "renders" / split / f"{name}__{k}.npz", args.max_s))
    with Pool(args.jobs, initializer=_init, initargs=(bank, backing)) as pool:
        for i, status in enumerate(pool.imap_unordered(_render_one, jobs, chunksize=4)):
            if i % 100 == 0:
                print(f"{i}/{len(jobs)} {status}", flush=True)
    np.save(CACHE / "mel_basis.npy", mel_basis())
    print("renders in", CACHE / "renders", flush=True)


if __name__ == "__main__":
    main()
