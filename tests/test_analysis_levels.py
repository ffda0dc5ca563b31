"""The metrical level, the NumPy DSP against librosa's, block-wise reading and memory.

Synthetic cases with known answers: network beat probabilities at a known tempo and a tracked
pulse at a related one; librosa (a dependency) as the reference for the beat-tracking dynamic
program and the spectrogram; a two-hour click file read and analysed under 2 GB.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from drumjam.analysis import analyse_audio
from drumjam.analysis.metrical import choose_level, level_candidates, network_fit
from drumjam.analysis.stream import read_mono
from drumjam.errors import AudioFileError
from drumjam.io.audio import load_audio, resample

FPS = 50.0


def beat_probability(tempo_bpm: float, duration_s: float, start_s: float = 0.5) -> np.ndarray:
    """A network's beat probability: a 0.8 peak (two frames wide) on every beat, 0.02 between."""
    prob = np.full(int(duration_s * FPS), 0.02)
    for t in np.arange(start_s, duration_s - 0.1, 60.0 / tempo_bpm):
        prob[int(round(t * FPS))] = 0.8
        prob[int(round(t * FPS)) + 1] = 0.4
    return prob


def flat_salience(_bpm: float) -> float:
    return 1.0


@pytest.mark.parametrize(("true_bpm", "tracked_bpm", "shift", "level"), [
    (110.0, 220.0, 0.0, (1, 2)),    # double: every other beat goes
    (111.0, 74.0, 0.0, (3, 2)),     # two thirds: three beats over every two tracked
    (100.0, 100.0, 0.0, (1, 1)),    # right: kept
    (125.0, 125.0, 2 / 3, (1, 1)),  # on the swung off-beat: a third of a beat later...
    (125.0, 125.0, 1 / 3, (1, 1)),  # ... or earlier
])
def test_level_follows_the_network_beats(true_bpm: float, tracked_bpm: float, shift: float,
                                         level: tuple[int, int]) -> None:
    prob = beat_probability(true_bpm, 30.0)
    tracked = np.arange(0.5 + shift * 60.0 / true_bpm, 29.0, 60.0 / tracked_bpm)
    found, beats = choose_level(tracked, prob, FPS, flat_salience)
    assert found == level
    truth = np.arange(0.5, 29.0, 60.0 / true_bpm)
    truth = truth[(truth >= beats[0] - 0.03) & (truth <= beats[-1] + 1e-6)]
    assert beats.size == truth.size
    np.testing.assert_allclose(beats, truth, atol=0.03)


def test_a_level_heard_only_as_well_is_not_taken() -> None:
    """Half the tempo tracked, every tracked beat on a beat the network hears: twice the tempo
    is heard as well, not better (a drum-less backing in sixteenths is heard so at twice its
    tempo too), so the tracked level stays; the player doubles it by ear if it is wrong."""
    prob = beat_probability(150.0, 30.0)
    tracked = np.arange(0.5, 29.0, 60.0 / 75.0)
    found, beats = choose_level(tracked, prob, FPS, flat_salience)
    assert found == (1, 1)
    np.testing.assert_array_equal(beats, tracked)


def test_a_faster_level_needs_beats_the_network_hears() -> None:
    """Doubling always covers more of the probability (recall); it must not win by that alone
    when the added beats are weaker than the tracked ones (precision falls)."""
    prob = beat_probability(80.0, 30.0)
    mids = np.arange(0.5 + 60 / 160, 29.0, 60.0 / 80)
    prob[np.round(mids * FPS).astype(int)] = 0.45  # the network half-hears the eighths
    tracked = np.arange(0.5, 29.0, 0.75)
    precision_1, recall_1 = network_fit(prob, FPS, tracked)
    precision_2, recall_2 = network_fit(prob, FPS, level_candidates(tracked)[1][1])
    assert recall_2 > recall_1 and precision_2 < precision_1
    assert choose_level(tracked, prob, FPS, flat_salience)[0] == (1, 1)


def test_a_swung_backing_is_beaten_on_the_beat_not_on_its_off_beat() -> None:
    """The built-in rock shuffle's backing (bass and electric piano, no drums, swung eighths):
    its chords on the swung off-beat drew the tracker two thirds into each beat; the beat
    network hears the beat, and the beats go back onto it (at 125 BPM, as its chart says)."""
    import mir_eval

    from drumjam.io.midi import read_chart
    from drumjam.library import builtin_dir

    folder = builtin_dir() / "rock-shuffle"
    truth = read_chart(folder / "chart.mid").beatmap
    found = analyse_audio(folder / "backing.ogg", use_cache=False)
    assert found.tempo_bpm == pytest.approx(truth.tempo_bpm, rel=0.01)
    assert mir_eval.beat.f_measure(truth.beats_s, found.beats_s, 0.07) >= 0.9


def test_level_candidates_keep_every_phase() -> None:
    beats = np.arange(12.0)
    levels = [level for level, _ in level_candidates(beats)]
    assert levels == [(1, 1), (2, 1), (1, 2), (1, 2), (3, 2), (3, 2), (2, 3), (2, 3), (2, 3), (1, 1), (1, 1)]
    thirds = [t for level, t in level_candidates(beats) if level == (3, 2)]
    np.testing.assert_allclose(thirds[0][:4], [0, 2 / 3, 4 / 3, 2])
    np.testing.assert_allclose(thirds[1][:4], [1, 5 / 3, 7 / 3, 3])
    swung = [t for level, t in level_candidates(beats)[-2:]]
    np.testing.assert_allclose(swung[0][:3], [1 / 3, 4 / 3, 7 / 3])
    np.testing.assert_allclose(swung[1][:3], [2 / 3, 5 / 3, 8 / 3])


def test_dynamic_program_gives_librosas_beats() -> None:
    import librosa

    from drumjam.analysis import beats as beats_mod
    from drumjam.analysis.features import HOP

    rng = np.random.default_rng(3)
    fps = 22050 / HOP
    onset = rng.random(int(40 * fps)) ** 4
    period = 60.0 / 97.0
    for t in np.arange(0.4, 40.0, period):
        onset[int(t * fps)] += 3.0
    bpm = 97.0 * (1 + 0.03 * np.sin(np.arange(onset.size) / (8 * fps)))
    _, want = librosa.beat.beat_track(onset_envelope=onset, sr=22050, hop_length=HOP, bpm=bpm,
                                      tightness=beats_mod.TIGHTNESS, trim=True, units="frames")
    frames_per_beat = np.round(fps * 60.0 / bpm)
    score = beats_mod._local_score(onset, frames_per_beat)
    cum, back = beats_mod._dynamic_program(score, frames_per_beat)
    np.testing.assert_array_equal(beats_mod._beat_frames(score, cum, back), want)


def test_spectrogram_and_autocorrelation_equal_librosas() -> None:
    import librosa

    from drumjam.analysis.features import mel_power
    from drumjam.analysis.tempo import local_autocorrelation

    y = np.random.default_rng(1).standard_normal(22050 * 3).astype(np.float32) * 0.1
    spec = np.abs(librosa.stft(y, n_fft=512, hop_length=128, center=True)) ** 2
    want = librosa.feature.melspectrogram(S=spec, sr=22050, n_mels=80, fmax=11000.0)
    np.testing.assert_allclose(mel_power(y), want, rtol=1e-4, atol=1e-6 * float(want.max()))
    x = np.random.default_rng(2).random(2000)
    padded = np.pad(x, (129, 129), mode="linear_ramp", end_values=(0, 0))
    frames = librosa.util.frame(padded, frame_length=258, hop_length=43)[:, :(x.size - 1) // 43 + 1]
    ref = librosa.autocorrelate(frames * librosa.filters.get_window("hann", 258)[:, None], axis=0)
    np.testing.assert_allclose(local_autocorrelation(x, 258, 43), ref, atol=1e-9)


def test_read_mono_equals_reading_whole(tmp_path: Path) -> None:
    """Block-wise decoding, mixing and resampling give the samples a whole-file read gives."""
    rng = np.random.default_rng(4)
    stereo = (0.2 * rng.standard_normal((44100 * 25, 2))).astype(np.float32)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, 44100, subtype="FLOAT")
    got = read_mono(path, 22050)
    whole, sr = load_audio(path)
    want = resample(whole, sr, 22050)
    assert abs(got.size - want.size) <= 1
    n = min(got.size, want.size)
    assert np.sqrt(np.mean((got[:n] - want[:n]) ** 2)) < 1e-3 * np.sqrt(np.mean(want**2))


def test_read_mono_refuses_bad_files(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="no such"):
        read_mono(tmp_path / "missing.wav", 22050)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(22050, np.float32), 22050)
    with pytest.raises(AudioFileError, match="silent"):
        read_mono(silent, 22050)
    broken = tmp_path / "nan.wav"
    sf.write(broken, np.full(22050, np.nan, np.float32), 22050, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="NaN"):
        read_mono(broken, 22050)


TWO_HOURS = """
import resource, sys
import numpy as np, soundfile as sf
from drumjam.analysis import analyse_audio

path, sr = sys.argv[1], 8000
# a 120 BPM click for two hours, written a minute at a time
click = np.exp(-np.arange(160) / 32.0).astype(np.float32) * np.sign(np.sin(np.arange(160) * 1.3)).astype(np.float32)
minute = np.zeros(60 * sr, np.float32)
for k in range(120):
    minute[k * sr // 2:k * sr // 2 + 160] += click * (0.8 if k % 4 == 0 else 0.4)
with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as fh:
    for _ in range(120):
        fh.write(minute)
start_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
found = analyse_audio(path, use_cache=False)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(start_mb, peak_mb, found.beats_s.size, found.tempo_bpm)
"""


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about a CPU minute on an idle machine; more on a busy one
def test_two_hours_of_audio_are_analysed_under_two_gigabytes(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", TWO_HOURS, str(tmp_path / "long.wav")],
                          capture_output=True, text=True, timeout=1750, check=True)
    start_mb, peak_mb, n_beats, tempo_bpm = map(float, proc.stdout.split())
    assert peak_mb < 2048, f"peak {peak_mb:.0f} MB"
    assert (peak_mb - start_mb) / 120 < 15, "more than 15 MB per minute of audio"
    assert tempo_bpm == pytest.approx(120.0, rel=0.002)
    assert n_beats == pytest.approx(2 * 60 * 120, rel=0.01)


def test_analysis_of_a_song_is_unchanged_by_reading_it_in_blocks(shared_data: Path) -> None:
    song = shared_data / "beats" / "tutorial_easy_example.flac"
    whole, sr = load_audio(song)
    from_file = analyse_audio(song, use_cache=False)
    from_samples = analyse_audio(resample(whole, sr, 22050), 22050, use_cache=False)
    assert from_file.meter == from_samples.meter
    np.testing.assert_allclose(from_file.beats_s, from_samples.beats_s, atol=0.002)
