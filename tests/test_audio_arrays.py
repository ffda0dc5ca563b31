"""Samples given as arrays: integer PCM scaled by its full scale, (frames, channels) only,
sample rates checked first, the same way in transcribe, analyse_audio, write_audio and
resample (drumjam.io.audio.audio_array)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drumjam.analysis import analyse_audio
from drumjam.analysis.transcribe import DrumTranscriber, transcribe
from drumjam.errors import InputError
from drumjam.io.audio import audio_array, load_audio, resample, write_audio
from drumjam.io.render import render_events
from drumjam.limits import MAX_AUDIO_CHANNELS
from drumjam.model import Hit

TRANSPOSE = r"give \(frames, channels\): transpose it with \.T"
#: A kick and snare groove with hi-hats, at known times.
GROOVE = ([Hit(0.25 + 0.5 * i, "kick" if i % 2 == 0 else "snare") for i in range(8)]
          + [Hit(0.5 + 0.5 * i, "hihat_closed", 80) for i in range(7)])


@pytest.fixture(scope="module")
def groove() -> tuple[np.ndarray, int]:
    return render_events(GROOVE, mono=True)


def _times(hits) -> np.ndarray:
    return np.array([h.time_s for h in hits])


# -- reading arrays -------------------------------------------------------------------------

@pytest.mark.parametrize("pcm, want", [
    (np.array([-32768, 0, 16384, 32767], np.int16), [-1.0, 0.0, 0.5, 32767 / 32768]),
    (np.array([-2**31, 0, 2**30, 2**31 - 1], np.int32), [-1.0, 0.0, 0.5, 1.0]),
    (np.array([0, 64, 128, 255], np.uint8), [-1.0, -0.5, 0.0, 127 / 128]),
    (np.array([-128, 0, 64, 127], np.int8), [-1.0, 0.0, 0.5, 127 / 128]),
    (np.array([-32768, 16384], ">i2"), [-1.0, 0.5]),  # big-endian
])
def test_integer_pcm_is_scaled_by_its_full_scale(pcm: np.ndarray, want: list[float]) -> None:
    got = audio_array(pcm)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.array(want, np.float32), rtol=0, atol=0)


def test_float32_is_taken_as_it_is_and_float64_converted() -> None:
    x = np.linspace(-1, 1, 9, dtype=np.float32)
    assert audio_array(x) is x
    np.testing.assert_array_equal(audio_array(x.astype(np.float64)), x)


@pytest.mark.parametrize("samples, match", [
    (np.array([True, False]), "dtype bool"),
    (np.array([0.1 + 0.2j]), "dtype complex"),
    (np.array([0.1, None], dtype=object), "dtype object"),
    ("abc", "dtype <U3"),
    ([0, 1, 0], "int64 integers are no PCM format"),
    (np.zeros(4, np.uint16), "uint16 integers are no PCM format"),
    ([[0.1, 0.2], [0.3]], "not an array of samples"),
    (np.zeros((1, 1, 100)), r"shape \(1, 1, 100\) is not audio"),
    (np.array(0.5), r"shape \(\) is not audio"),
    (np.array([0.1, np.nan]), "NaN or infinite samples"),
    (np.array([0.1, np.inf]), "NaN or infinite samples"),
    (np.zeros((10, 0)), "0 channels"),
    (np.zeros((100, MAX_AUDIO_CHANNELS + 1)), f"{MAX_AUDIO_CHANNELS + 1} channels"),
])
def test_what_is_no_audio_is_refused(samples, match: str) -> None:
    with pytest.raises(InputError, match=match):
        audio_array(samples)


@pytest.mark.parametrize("shape", [(2, 22050), (1, 100), (MAX_AUDIO_CHANNELS, 33), (3, 8)])
def test_channels_first_is_refused(shape: tuple[int, int]) -> None:
    with pytest.raises(InputError, match=rf"shape \({shape[0]}, {shape[1]}\).*{TRANSPOSE}"):
        audio_array(np.zeros(shape, np.float32))


@pytest.mark.parametrize("shape", [(20, 2), (2, 2), (1, 1), (MAX_AUDIO_CHANNELS + 1, 2),
                                   (40, MAX_AUDIO_CHANNELS), (0, 2), (5, 1)])
def test_frames_first_is_accepted_however_short(shape: tuple[int, int]) -> None:
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 1e4
    np.testing.assert_array_equal(audio_array(x), x)
    np.testing.assert_allclose(audio_array(x, mono=True), x.mean(axis=1), rtol=1e-6)


# -- transcribe ------------------------------------------------------------------------------

def test_int16_copy_transcribes_as_the_float_signal(groove) -> None:
    y, sr = groove
    ref = transcribe(y, sample_rate=sr).hits
    # the float signal's answer holds the groove (so the comparison is not 0 == 0)
    for note in GROOVE:
        assert any(h.voice == note.voice and abs(h.time_s - note.time_s) < 0.02 for h in ref), note
    for pcm in ((y * 32767).astype(np.int16), (y * (2**31 - 1)).astype(np.int32)):
        got = transcribe(pcm, sample_rate=sr).hits
        assert [h.voice for h in got] == [h.voice for h in ref]
        np.testing.assert_allclose(_times(got), _times(ref), atol=1e-3)


def test_stereo_frames_first_transcribes_as_mono_and_channels_first_is_refused(groove) -> None:
    y, sr = groove
    ref = transcribe(y, sample_rate=sr).hits
    got = transcribe(np.stack([y, y], axis=1), sample_rate=sr).hits
    np.testing.assert_allclose(_times(got), _times(ref), atol=1e-6)
    with pytest.raises(InputError, match=TRANSPOSE):
        transcribe(np.stack([y, y]), sample_rate=sr)


def test_streamed_int16_blocks_transcribe_as_the_float_signal(groove) -> None:
    y, sr = groove
    ref = transcribe(y, sample_rate=sr).hits
    pcm = (y * 32767).astype(np.int16)
    tr = DrumTranscriber(sample_rate=sr)
    hits = []
    for i in range(0, pcm.size, 441):
        hits += tr.process(pcm[i:i + 441])
    hits += tr.flush()
    assert len(hits) == len(ref)
    np.testing.assert_allclose(_times(hits), _times(ref), atol=1e-3)


def test_int16_song_analyses_as_the_float_one(groove) -> None:
    y, sr = groove
    ref = analyse_audio(y, sr, use_cache=False)
    got = analyse_audio((y * 32767).astype(np.int16), sr, use_cache=False)
    assert got.tempo_bpm == pytest.approx(ref.tempo_bpm, abs=0.01)
    np.testing.assert_allclose(got.beats_s, ref.beats_s, atol=1e-3)
    with pytest.raises(InputError, match=TRANSPOSE):
        analyse_audio(np.stack([y, y]), sr, use_cache=False)


# -- sample rates ----------------------------------------------------------------------------

@pytest.mark.parametrize("rate, shown", [(0, "0"), (float("nan"), "nan"), (1, "1"),
                                         (-44100, "-44100"), (10**7, "10000000"),
                                         ("44100", "'44100'")])
def test_rates_are_checked_first_and_named(tmp_path: Path, rate, shown: str) -> None:
    y = np.full(4410, 0.1, np.float32)
    msg = rf"sample rate {shown} Hz is out of range; use 4000-384000 Hz"
    with pytest.raises(InputError, match=msg):
        transcribe(y, sample_rate=rate)
    with pytest.raises(InputError, match=msg):  # not "8820 minutes ... too long"
        analyse_audio(y, rate, use_cache=False)
    with pytest.raises(InputError, match=msg):
        write_audio(tmp_path / "a.wav", y, rate)
    with pytest.raises(InputError, match="input " + msg):
        resample(y, rate, 16000)
    with pytest.raises(InputError, match="output " + msg):
        resample(y, 16000, rate)
    with pytest.raises(InputError, match=msg):
        DrumTranscriber(sample_rate=rate)
    assert not (tmp_path / "a.wav").exists()


# -- write_audio and resample ----------------------------------------------------------------

def test_int16_write_round_trips_to_its_float_values(tmp_path: Path) -> None:
    sr = 22050
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)).astype(np.int16)
    back, back_sr = load_audio(write_audio(tmp_path / "i16.wav", pcm, sr))
    assert back_sr == sr
    assert np.max(np.abs(back)) == pytest.approx(0.3, abs=1e-3)  # not a full-scale square
    np.testing.assert_allclose(back, pcm / 32768, rtol=0, atol=1 / 32768)


def test_uint8_stereo_write_round_trips(tmp_path: Path) -> None:
    pcm = np.stack([np.arange(256, dtype=np.uint8), np.full(256, 128, np.uint8)], axis=1)
    back, _ = load_audio(write_audio(tmp_path / "u8.wav", pcm, 8000), mono=False)
    assert back.shape == (256, 2)
    np.testing.assert_allclose(back, (pcm.astype(float) - 128) / 128, rtol=0, atol=1 / 32768)


def test_channels_first_write_is_refused_and_nothing_written(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=TRANSPOSE):
        write_audio(tmp_path / "t.wav", np.zeros((2, 22050), np.float32), 22050)
    with pytest.raises(InputError, match="holds no samples"):
        write_audio(tmp_path / "t.wav", np.zeros(0, np.float32), 22050)
    assert not (tmp_path / "t.wav").exists()
    write_audio(tmp_path / "t.wav", np.full((20, 2), 0.5, np.float32), 22050)  # 20 frames
    assert load_audio(tmp_path / "t.wav", mono=False)[0].shape == (20, 2)


def test_resample_keeps_channels_and_reads_pcm_as_floats() -> None:
    x = np.sin(np.arange(22050) / 10).astype(np.float32) * 0.5
    stereo = resample(np.stack([x, -x], axis=1), 22050, 16000)
    assert stereo.shape == (16000, 2)
    np.testing.assert_allclose(stereo[:, 0], -stereo[:, 1], atol=1e-6)
    pcm = (x * 32768).astype(np.int16)
    np.testing.assert_allclose(resample(pcm, 22050, 16000), resample(pcm / 32768, 22050, 16000),
                               atol=1e-6)
    with pytest.raises(InputError, match=TRANSPOSE):
        resample(np.stack([x, x]), 22050, 16000)
    # a clock's drift: a fractional rate is kept
    assert resample(x, 22050, 22050 * 1.01).shape == (22271,)
