"""MIDI to audio with FluidSynth and a drum-kit SoundFont.

drumjam renders with the ``fluidsynth`` command (Debian package ``fluidsynth``) in its fast
file-rendering mode, reverb and chorus off, so a note's sound starts at the note's time.
Kits: the AVL Drumkits "Black Pearl" and "Red Zeppelin" (Debian ``avldrums.lv2-soundfont``)
or the General MIDI set of FluidR3 (Debian ``fluid-soundfont-gm``), or any ``.sf2`` file.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from drumjam.errors import AudioFileError, DrumjamError, InputError, MidiFileError
from drumjam.io.audio import load_audio
from drumjam.io.midi import write_midi
from drumjam.model import BeatMap, Chart, Hit, Note, Take

SF2_DIR = Path("/usr/share/sounds/sf2")
SOUNDFONTS = {
    "black_pearl": (SF2_DIR / "Black_Pearl_4_LV2.sf2", "avldrums.lv2-soundfont"),
    "red_zeppelin": (SF2_DIR / "Red_Zeppelin_4_LV2.sf2", "avldrums.lv2-soundfont"),
    "gm": (SF2_DIR / "FluidR3_GM.sf2", "fluid-soundfont-gm"),
}
#: Kits whose drums sit at bank 0, program 0 (not the GM percussion bank 128): channel 10
#: must play them as an ordinary instrument, and the other channels get their General MIDI
#: instruments from FluidR3 (loaded above the kit) where it is installed.
BANK0_KITS = ("black_pearl", "red_zeppelin")
GAIN = 0.6
RENDER_TIMEOUT_S = 600.0
#: Silence rendered after the last note so cymbals ring out.
TAIL_S = 1.5


class SynthError(DrumjamError, RuntimeError):
    """FluidSynth or a SoundFont is missing, or rendering failed."""


def soundfont_path(soundfont: str | Path) -> Path:
    """Resolve a kit name (``black_pearl``, ``red_zeppelin``, ``gm``) or an ``.sf2`` path."""
    if isinstance(soundfont, str) and soundfont in SOUNDFONTS:
        path, package = SOUNDFONTS[soundfont]
        if not path.is_file():
            raise SynthError(
                f"the '{soundfont}' kit ({path}) is not installed: "
                f"install the Debian package {package} (apt-get install {package})"
            )
        return path
    path = Path(soundfont)
    if path.suffix.lower() not in (".sf2", ".sf3"):
        raise InputError(
            f"unknown kit '{soundfont}': use {', '.join(SOUNDFONTS)} or a path to an .sf2 file"
        )
    if not path.is_file():
        raise SynthError(f"{path}: no such SoundFont file (check the path)")
    return path


def _fluidsynth() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise SynthError(
            "the fluidsynth program is not installed: install the Debian package fluidsynth "
            "(apt-get install fluidsynth)"
        )
    return exe


def _soundfont_stack(soundfont: str | Path, sf2: Path) -> list[str]:
    """SoundFonts to load, bottom first: a bank-0 kit has General MIDI loaded above it so that
    melodic channels (a backing track) do not play drum sounds."""
    gm = SOUNDFONTS["gm"][0]
    if soundfont in BANK0_KITS and gm.is_file():
        return [str(sf2), str(gm)]
    return [str(sf2)]


def _select_bank0(folder: Path) -> Path:
    """A fluidsynth command file that puts the first SoundFont's bank 0, program 0 (the kit)
    on channel 10."""
    cfg = folder / "select-kit.cfg"
    cfg.write_text("select 9 1 0 0\n")
    return cfg


def render_midi_file(
    midi_path: str | Path,
    out_path: str | Path,
    *,
    soundfont: str | Path = "black_pearl",
    sample_rate: int = 44100,
) -> Path:
    """Render a MIDI file to a stereo 32-bit float WAV file, holding none of it in memory.

    Parameters
    ----------
    midi_path : str or Path
        The MIDI file (drums on channel 10 use the kit; other channels the SoundFont's programs).
    out_path : str or Path
        Where to write the rendering.
    soundfont : str or Path
        ``"black_pearl"``, ``"red_zeppelin"``, ``"gm"`` or a path to an ``.sf2`` file.
    sample_rate : int
        Sample rate of the result in Hz.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    MidiFileError
        If the MIDI file is missing.
    SynthError
        If fluidsynth or the kit is missing, or fluidsynth fails.
    """
    midi = Path(midi_path)
    if not midi.is_file():
        raise MidiFileError(midi, "no such MIDI file", "check the path")
    sf2 = soundfont_path(soundfont)
    exe = _fluidsynth()
    wav = Path(out_path)
    wav.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="drumjam-render-") as tmp:
        cmd = [exe, "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", str(GAIN),
               *(["-f", str(_select_bank0(Path(tmp)))] if soundfont in BANK0_KITS else []),
               "-r", str(int(sample_rate)), "-T", "wav", "-O", "float", "-F", str(wav),
               *_soundfont_stack(soundfont, sf2), str(midi)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            raise SynthError(f"{midi}: fluidsynth took longer than {RENDER_TIMEOUT_S:.0f} s") from exc
    if proc.returncode != 0 or not wav.is_file():
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise SynthError(f"{midi}: fluidsynth failed ({detail[-1] if detail else 'no output'})")
    return wav


def render_midi(
    midi_path: str | Path,
    out_path: str | Path | None = None,
    *,
    soundfont: str | Path = "black_pearl",
    sample_rate: int = 44100,
    mono: bool = False,
) -> tuple[np.ndarray, int]:
    """Render a MIDI file to audio in memory (:func:`render_midi_file` writes it to a file).

    Parameters
    ----------
    midi_path : str or Path
        The MIDI file.
    out_path : str or Path, optional
        Also keep the rendering here as a WAV file.
    soundfont, sample_rate
        As in :func:`render_midi_file`.
    mono : bool
        Mix the two channels into one.

    Returns
    -------
    samples : numpy.ndarray
        float32 samples, ``(frames, 2)`` or 1-D when ``mono``.
    sr : int
        The sample rate.

    Raises
    ------
    MidiFileError
        If the MIDI file is missing.
    SynthError
        If fluidsynth or the kit is missing, fluidsynth fails, or the rendering is longer
        than drumjam holds in memory (:data:`~drumjam.limits.MAX_AUDIO_SAMPLES`).
    """
    midi = Path(midi_path)
    with tempfile.TemporaryDirectory(prefix="drumjam-render-") as tmp:
        wav = render_midi_file(midi, Path(tmp) / "render.wav" if out_path is None else out_path,
                               soundfont=soundfont, sample_rate=sample_rate)
        try:
            return load_audio(wav, sample_rate=int(sample_rate), mono=mono)
        except AudioFileError as exc:
            raise SynthError(f"{midi}: rendered, {exc.problem} "
                             "(render a shorter part, or to a file with render_midi_file)") from None


def render_events(
    events: Take | Chart | Sequence[Hit | Note],
    *,
    beatmap: BeatMap | None = None,
    soundfont: str | Path = "black_pearl",
    sample_rate: int = 44100,
    mono: bool = False,
) -> tuple[np.ndarray, int]:
    """Render hits or notes to audio (through a temporary General MIDI file).

    Parameters
    ----------
    events : Take, Chart or sequence of Hit/Note
        What to play; times in seconds are kept exactly (to the sample).
    beatmap : BeatMap, optional
        Tempo map written with the notes (default: the take's or chart's own).
    soundfont, sample_rate, mono
        As in :func:`render_midi`.

    Returns
    -------
    samples : numpy.ndarray
    sr : int
    """
    items = list(events.events) if isinstance(events, (Take, Chart)) else list(events)
    if not items:
        raise InputError("nothing to render: the take or chart has no notes")
    with tempfile.TemporaryDirectory(prefix="drumjam-render-") as tmp:
        midi = write_midi(Path(tmp) / "events.mid", events, beatmap=beatmap, ppq=960)
        samples, sr = render_midi(midi, soundfont=soundfont, sample_rate=sample_rate, mono=mono)
    end = max(e.time_s for e in items) + TAIL_S
    want = int(round(end * sr))
    if samples.shape[0] < want:
        pad = [(0, want - samples.shape[0])] + [(0, 0)] * (samples.ndim - 1)
        samples = np.pad(samples, pad)
    return samples, sr
