"""Audio in and out: formats, resampling, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from drumjam.errors import AudioFileError, InputError
from drumjam.io.audio import load_audio, write_audio

SR = 44100


def _tone(seconds: float = 1.0, sr: int = SR, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_round_trip_each_format(tmp_path: Path, ext: str) -> None:
    y = _tone()
    path = write_audio(tmp_path / f"tone.{ext}", y, SR)
    back, sr = load_audio(path)
    assert sr == SR
    # lossy codecs pad and shift a little; the tone's level survives every format
    assert abs(back.size - y.size) < 0.1 * SR
    assert np.sqrt(np.mean(back**2)) == pytest.approx(np.sqrt(np.mean(y**2)), rel=0.1)


def test_stereo_and_mono(tmp_path: Path) -> None:
    left, right = _tone(hz=440), _tone(hz=660) * 0.5
    path = write_audio(tmp_path / "st.wav", np.stack([left, right], axis=1), SR, subtype="FLOAT")
    stereo, _ = load_audio(path, mono=False)
    mono, _ = load_audio(path)
    assert stereo.shape == (left.size, 2)
    np.testing.assert_allclose(mono, (left + right) / 2, atol=1e-6)


def test_resampling_keeps_pitch_and_length(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "t.wav", _tone(2.0, 48000, 1000.0), 48000, subtype="FLOAT")
    y, sr = load_audio(path, sample_rate=22050)
    assert sr == 22050 and y.dtype == np.float32
    assert y.size == pytest.approx(2.0 * 22050, abs=2)
    spectrum = np.abs(np.fft.rfft(y))
    assert np.fft.rfftfreq(y.size, 1 / sr)[np.argmax(spectrum)] == pytest.approx(1000.0, abs=1.0)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="no such audio file"):
        load_audio(tmp_path / "nope.mp3")


def test_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "song.mp3"
    bad.write_bytes(b"this is not audio at all" * 100)
    with pytest.raises(AudioFileError, match=r"song\.mp3.*WAV, FLAC, OGG or MP3"):
        load_audio(bad)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 1), dtype=np.float32), SR)
    with pytest.raises(AudioFileError, match="no audio"):
        load_audio(empty)


def test_silent_file(tmp_path: Path) -> None:
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, np.zeros(SR, dtype=np.float32), SR)
    with pytest.raises(AudioFileError, match="silent"):
        load_audio(quiet)


def test_absurdly_long_file_is_refused_before_decoding(tmp_path: Path) -> None:
    # a 3-hour file at 4 kHz, 8-bit: 43 MB, refused from its header alone
    long = tmp_path / "long.wav"
    with sf.SoundFile(long, "w", samplerate=4000, channels=1, subtype="PCM_U8") as fh:
        block = np.full(4000 * 600, 0.1, dtype=np.float32)
        for _ in range(18):
            fh.write(block)
    with pytest.raises(AudioFileError, match="more than 2 hours"):
        load_audio(long)


def test_write_refuses_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\.aiff"):
        write_audio(tmp_path / "x.aiff", _tone(), SR)
    with pytest.raises(InputError, match="NaN"):
        write_audio(tmp_path / "x.wav", np.array([0.0, np.nan], dtype=np.float32), SR)
