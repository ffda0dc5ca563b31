"""One-shot drum samples from every kit installed on this machine, for rendering training audio.

Sources (Debian packages, installed by ``bash scripts/install.sh --train``):

- SoundFonts played by FluidSynth: the AVL Drumkits Black Pearl and Red Zeppelin
  (``avldrums.lv2-soundfont``, multi-sampled acoustic kits), the General MIDI drum kits of
  FluidR3 (``fluid-soundfont-gm``), MuseScore General (``musescore-general-soundfont``) and
  TimGM6mb (``timgm6mb-soundfont``). Each drum note is rendered alone at five velocities.
- Hydrogen drum kits (``hydrogen-drumkits``): recorded samples with velocity layers, read from
  each kit's ``drumkit.xml``; instruments are assigned to drum classes by their names.

Every one-shot is mono at the network's sample rate and trimmed so that its onset (the first
sample within 26 dB of its peak) is at sample 0: a hit placed at a time sounds at that time.
Instruments that are no kit drum (claps, cowbells, congas, shakers, ...) are kept as
``percussion``: the renderer plays them as unlabelled negatives.

``python training/kits.py`` builds the bank into ``$DRUMJAM_TRAIN_CACHE/bank`` (default
``~/.cache/drumjam-train``) and prints what each kit offers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np
import soundfile as sf
import soxr

from drumjam.analysis.drumnet import CLASSES, SAMPLE_RATE

CACHE = Path(os.environ.get("DRUMJAM_TRAIN_CACHE", Path.home() / ".cache" / "drumjam-train"))
PERCUSSION = "percussion"
CLASS_NAMES = [c.value for c in CLASSES]
SF2 = Path("/usr/share/sounds/sf2")
SF3 = Path("/usr/share/sounds/sf3")
HYDROGEN = Path("/usr/share/hydrogen/data/drumkits")

#: General MIDI percussion notes -> drum class (or percussion for negatives).
GM_NOTES: dict[int, str] = {
    35: "kick", 36: "kick", 37: "side_stick", 38: "snare", 40: "snare",
    42: "hihat_closed", 44: "hihat_pedal", 46: "hihat_open",
    41: "tom_floor", 43: "tom_floor", 45: "tom_mid", 47: "tom_mid", 48: "tom_high", 50: "tom_high",
    49: "crash", 57: "crash", 52: "crash", 55: "crash", 51: "ride", 59: "ride", 53: "ride_bell",
    39: PERCUSSION, 54: PERCUSSION, 56: PERCUSSION, 58: PERCUSSION, 60: PERCUSSION,
    61: PERCUSSION, 62: PERCUSSION, 63: PERCUSSION, 64: PERCUSSION, 65: PERCUSSION,
    69: PERCUSSION, 70: PERCUSSION, 75: PERCUSSION, 76: PERCUSSION, 77: PERCUSSION,
    80: PERCUSSION, 81: PERCUSSION,
}
VELOCITIES = (25, 50, 75, 100, 127)
#: (name, SoundFont, program, bank-0 kit played as an instrument on channel 10)
SOUNDFONT_KITS: list[tuple[str, Path, int, bool]] = [
    ("avl_black_pearl", SF2 / "Black_Pearl_4_LV2.sf2", 0, True),
    ("avl_red_zeppelin", SF2 / "Red_Zeppelin_4_LV2.sf2", 0, True),
    *[(f"fluidr3_{p}", SF2 / "FluidR3_GM.sf2", p, False) for p in (0, 8, 16, 24, 25, 32, 40)],
    *[(f"musescore_{p}", SF3 / "MuseScore_General_Full.sf3", p, False)
      for p in (0, 8, 16, 24, 25, 32, 40)],
    ("timgm6mb_0", SF2 / "TimGM6mb.sf2", 0, False),
]
#: Hydrogen instrument names -> class, first match wins (lower case).
HYDROGEN_RULES: list[tuple[str, str]] = [
    (r"side ?stick|stick|rim click|cross", "side_stick"),
    (r"clap|cowbell|conga|bongo|tamb|shak|maraca|clave|block|cajon|djembe|snap|glass|"
     r"triangle|agogo|cabasa|zap|\bfx\b|click|dununba|sangban|kenkeni", PERCUSSION),
    (r"kick|bass ?drum|bassdrum|\bbd\b", "kick"),
    (r"snare|\bsd\b", "snare"),
    (r"(hi-?hat|hh|hat).*(pedal|pd|foot)|pedal ?h", "hihat_pedal"),
    (r"(hi-?hat|hh|hat).*(open|op\b|opened|swish|semi)|open ?h", "hihat_open"),
    (r"hi-?hat|hh|hat", "hihat_closed"),
    (r"(ride|paiste).*(bell|cup)|ride-?cup|\bcup\b", "ride_bell"),
    (r"ride", "ride"),
    (r"crash|splash|china|cymbal", "crash"),
    (r"floor|tom ?low|low ?tom|tom ?3", "tom_floor"),
    (r"tom ?mid|mid(dle)? ?tom|tom ?2", "tom_mid"),
    (r"tom", "tom_high"),
]
ELECTRONIC_KITS = {"fluidr3_24", "fluidr3_25", "musescore_24", "musescore_25",
                   "HardElectro1", "ElectricEmpireKit"}


@dataclass
class Kit:
    """One kit: for each class, its one-shots as (velocity 1-127, samples)."""

    name: str
    sounds: dict[str, list[tuple[int, np.ndarray]]] = field(default_factory=dict)

    def add(self, cls: str, velocity: int, samples: np.ndarray) -> None:
        self.sounds.setdefault(cls, []).append((int(velocity), samples))


def trim_onset(samples: np.ndarray, *, max_s: float) -> np.ndarray | None:
    """Cut the one-shot so its onset is sample 0, keep at most ``max_s``, fade out the end."""
    x = np.asarray(samples, dtype=np.float32)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak < 1e-4:
        return None
    start = int(np.argmax(np.abs(x) >= 0.05 * peak))
    x = x[start:start + int(max_s * SAMPLE_RATE)].copy()
    quiet = np.flatnonzero(np.abs(x) >= 1e-3 * peak)
    x = x[: max(int(quiet[-1]) + 1, 64)] if quiet.size else x
    fade = min(len(x) // 4, int(0.02 * SAMPLE_RATE))
    if fade > 0:
        x[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return x


def _max_s(cls: str) -> float:
    return 3.0 if cls in ("crash", "ride", "ride_bell", "hihat_open") else 1.5


def render_soundfont_kit(name: str, sf_path: Path, program: int, bank0: bool) -> Kit:
    """Render every GM drum note of a SoundFont kit at :data:`VELOCITIES` with FluidSynth."""
    spacing_s = 3.5
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000))  # 1 beat = 0.5 s = 480 ticks
    if not bank0:
        track.append(mido.Message("program_change", channel=9, program=program))
    plan = [(note, v) for note in GM_NOTES for v in VELOCITIES]
    ticks = int(spacing_s * 960)
    for i, (note, v) in enumerate(plan):
        track.append(mido.Message("note_on", channel=9, note=note, velocity=v,
                                  time=ticks if i else 960))
        track.append(mido.Message("note_off", channel=9, note=note, velocity=0, time=0))
    track.append(mido.MetaMessage("end_of_track", time=ticks))
    kit = Kit(name)
    with tempfile.TemporaryDirectory() as tmp:
        midi = Path(tmp) / "notes.mid"
        mid.save(midi)
        wav = Path(tmp) / "out.wav"
        cmd = ["fluidsynth", "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", "0.5",
               "-r", str(SAMPLE_RATE), "-T", "wav", "-O", "float", "-F", str(wav)]
        if bank0:
            cfg = Path(tmp) / "select.cfg"
            cfg.write_text("select 9 1 0 0\n")
            cmd += ["-f", str(cfg)]
        subprocess.run([*cmd, str(sf_path), str(midi)], check=True, capture_output=True, timeout=900)
        audio, sr = sf_read(wav)
    if sr != SAMPLE_RATE:
        raise RuntimeError(f"fluidsynth rendered at {sr} Hz, not {SAMPLE_RATE}")
    for i, (note, v) in enumerate(plan):
        start = int((1.0 + i * spacing_s) * SAMPLE_RATE) - int(0.01 * SAMPLE_RATE)
        cls = GM_NOTES[note]
        shot = trim_onset(audio[start:start + int(spacing_s * SAMPLE_RATE) - 100],
                          max_s=_max_s(cls))
        if shot is not None:
            kit.add(cls, v, shot)
    return kit


def sf_read(path: Path) -> tuple[np.ndarray, int]:
    """Read audio as mono float32."""
    audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return audio.mean(axis=1), int(sr)


def hydrogen_class(name: str) -> str | None:
    """The drum class a Hydrogen instrument name stands for, or None."""
    low = name.lower()
    for pattern, cls in HYDROGEN_RULES:
        if re.search(pattern, low):
            return cls
    return None


def load_hydrogen_kit(folder: Path) -> Kit:
    """Read a Hydrogen kit's instruments and velocity layers."""
    root = ET.parse(folder / "drumkit.xml").getroot()
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    kit = Kit(folder.name)
    for inst in root.iter(f"{ns}instrument"):
        name = inst.findtext(f"{ns}name") or ""
        cls = hydrogen_class(name)
        if cls is None:
            continue
        layers = list(inst.iter(f"{ns}layer")) or [inst]  # old kits: one file, no layers
        for layer in layers:
            file = layer.findtext(f"{ns}filename")
            if not file or not (folder / file).is_file() or "empty" in file.lower():
                continue
            hi = float(layer.findtext(f"{ns}max") or 1.0)
            try:
                audio, sr = sf_read(folder / file)
            except (RuntimeError, sf.LibsndfileError):
                continue
            audio = soxr.resample(audio, sr, SAMPLE_RATE).astype(np.float32)
            gain = float(layer.findtext(f"{ns}gain") or 1.0) if layer is not inst else 1.0
            shot = trim_onset(audio * gain,
                              max_s=_max_s(cls))
            if shot is not None:
                kit.add(cls, max(1, int(round(hi * 127))), shot)
    return kit


def save_kit(kit: Kit, folder: Path) -> Path:
    """Write a kit as one ``.npz`` (arrays ``CLASS/i`` and ``CLASS/i/velocity``)."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for cls, shots in kit.sounds.items():
        for i, (v, x) in enumerate(shots):
            arrays[f"{cls}/{i}"] = x.astype(np.float32)
            arrays[f"{cls}/{i}/velocity"] = np.array(v)
    path = folder / f"{kit.name}.npz"
    np.savez(path, **arrays)
    return path


def load_kit(path: Path) -> Kit:
    """Read a kit written by :func:`save_kit`."""
    kit = Kit(path.stem)
    with np.load(path) as data:
        for key in data.files:
            parts = key.split("/")
            if len(parts) == 2:
                kit.add(parts[0], int(data[key + "/velocity"]), data[key])
    for shots in kit.sounds.values():
        shots.sort(key=lambda s: s[0])
    return kit


def build_bank(folder: Path = CACHE / "bank") -> list[Path]:
    """Build every installed kit into ``folder`` (kits already there are kept)."""
    paths = []
    for name, sf2, program, bank0 in SOUNDFONT_KITS:
        out = folder / f"{name}.npz"
        if not out.is_file() and sf2.is_file():
            save_kit(render_soundfont_kit(name, sf2, program, bank0), folder)
        if out.is_file():
            paths.append(out)
    if HYDROGEN.is_dir():
        for kit_dir in sorted(HYDROGEN.iterdir()):
            out = folder / f"{kit_dir.name}.npz"
            if not out.is_file() and (kit_dir / "drumkit.xml").is_file():
                save_kit(load_hydrogen_kit(kit_dir), folder)
            if out.is_file():
                paths.append(out)
    return paths


if __name__ == "__main__":
    for p in build_bank():
        k = load_kit(p)
        print(f"{k.name:28s}", " ".join(f"{c}:{len(s)}" for c, s in sorted(k.sounds.items())),
              file=sys.stdout)
