"""FluidSynth rendering with the AVL drum kits and General MIDI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drumjam.errors import MidiFileError
from drumjam.io.midi import read_chart
from drumjam.io.render import SynthError, render_events, render_midi, soundfont_path
from drumjam.model import Hit, Voice


def _attack_times_s(y: np.ndarray, sr: int, near_s: list[float]) -> np.ndarray:
    """First sample above 5 % of the local peak, in a window from 20 ms before each time."""
    out = []
    for t in near_s:
        a = int((t - 0.02) * sr)
        seg = np.abs(y[a:a + int(0.1 * sr)])
        out.append((a + int(np.argmax(seg > 0.05 * seg.max()))) / sr)
    return np.array(out)


@pytest.mark.parametrize("kit", ["black_pearl", "red_zeppelin", "gm"])
def test_each_hit_sounds_at_its_time(kit: str) -> None:
    times = [0.5 + 1.377 * i for i in range(6)]
    voices = [Voice.KICK, Voice.SNARE]
    hits = [Hit(t, voices[i % 2], 110) for i, t in enumerate(times)]
    y, sr = render_events(hits, soundfont=kit, mono=True)
    assert sr == 44100 and y.ndim == 1
    assert y.size >= int((times[-1] + 1.0) * sr)
    assert np.max(np.abs(y[: int(0.45 * sr)])) < 1e-3  # silence before the first hit
    # the sampled attacks start within a few ms after each note (sample onset + 64-frame blocks)
    delays_ms = (_attack_times_s(y, sr, times) - np.array(times)) * 1000
    assert np.all((delays_ms > -1.0) & (delays_ms < 8.0)), delays_ms


def test_render_midi_file_stereo_and_written(groove_midi: Path, tmp_path: Path) -> None:
    midi = groove_midi / "drummer1/eval_session/1_funk-groove1_138_beat_4-4.mid"
    out = tmp_path / "groove.wav"
    y, sr = render_midi(midi, out, soundfont="red_zeppelin", sample_rate=22050)
    chart = read_chart(midi)
    assert out.is_file()
    assert y.ndim == 2 and y.shape[1] == 2 and sr == 22050
    # fluidsynth plays the file to its end-of-track event, which follows the last note
    assert chart.times_s()[-1] < y.shape[0] / sr < chart.times_s()[-1] + 12.0
    assert 0.01 < np.max(np.abs(y)) <= 1.0


def test_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(MidiFileError, match="no such MIDI file"):
        render_midi(tmp_path / "missing.mid")
    with pytest.raises(SynthError, match="no such SoundFont"):
        soundfont_path(tmp_path / "kit.sf2")
    with pytest.raises(ValueError, match="black_pearl"):
        soundfont_path("tabla")


def test_missing_fluidsynth_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SynthError, match="Debian package fluidsynth"):
        render_events([Hit(0.1, Voice.KICK, 100)])


def test_backing_channels_play_instruments_with_an_avl_kit(tmp_path: Path) -> None:
    """An organ chord on channel 1 sustains while channel 10 plays the AVL kit.

    The AVL SoundFonts hold nothing but the kit, so without General MIDI instruments for the
    other channels a backing track would trigger decaying drum samples instead of notes.
    """
    import mido

    midi = mido.MidiFile(type=0, ticks_per_beat=480)  # 120 BPM: 480 ticks = 0.5 s
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.Message("program_change", channel=0, program=16, time=0))  # drawbar organ
    track.append(mido.Message("note_on", channel=0, note=57, velocity=110, time=0))
    track.append(mido.Message("note_off", channel=0, note=57, velocity=0, time=4 * 480))
    track.append(mido.Message("note_on", channel=9, note=36, velocity=110, time=480))
    track.append(mido.Message("note_off", channel=9, note=36, velocity=0, time=60))
    path = tmp_path / "song.mid"
    midi.save(path)
    y, sr = render_midi(path, soundfont="black_pearl", mono=True)

    def rms(a_s: float, b_s: float) -> float:
        return float(np.sqrt(np.mean(y[int(a_s * sr):int(b_s * sr)] ** 2)))

    assert rms(1.4, 1.9) > 0.5 * rms(0.1, 0.6) > 0.005  # the organ holds its note for 2 s
    assert np.max(np.abs(y[int(2.5 * sr):int(2.6 * sr)])) > 0.05  # then the kick
