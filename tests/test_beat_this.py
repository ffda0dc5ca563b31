"""The optional Beat This! backend: its input features, excerpt stitching and checkpoint loading.

Weights are never downloaded here: the tests build a tiny network, save it as a checkpoint the
way the authors' training saves theirs, and load it through drumjam's real loading code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from drumjam.analysis import analyse_audio, beat_this_backend
from drumjam.analysis.click import render_click
from drumjam.model import BeatMap

torch = pytest.importorskip("torch")
pytest.importorskip("beat_this")

TINY = {"transformer_dim": 32, "n_layers": 1, "head_dim": 16, "stem_dim": 16}


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from beat_this.model.beat_tracker import BeatThis

    torch.manual_seed(0)
    model = BeatThis(**TINY)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.ckpt"
    torch.save({"hyper_parameters": dict(TINY, lr=0.001),  # training options are ignored
                "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}}, path)
    return path


def test_spectrogram_is_the_trained_input() -> None:
    sr = 44100
    t = np.arange(3 * sr) / sr
    tone = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    spect = beat_this_backend.log_mel_spectrogram(tone, sr)
    assert tuple(spect.shape) == (1 + (3 * 22050) // 441, 128)  # 50 frames a second
    import librosa

    centres = librosa.mel_frequencies(n_mels=130, fmin=30.0, fmax=11000.0, htk=False)[1:-1]
    peak_band = int(spect[10:-10].mean(0).argmax())
    assert abs(centres[peak_band] - 1000.0) < 0.5 * (centres[peak_band + 1] - centres[peak_band - 1])
    quiet = beat_this_backend.log_mel_spectrogram(tone * 0.1, sr)
    assert float(quiet.max()) < float(spect.max())  # log(1 + 1000 x) keeps level differences
    silence = beat_this_backend.log_mel_spectrogram(np.zeros(22050, np.float32), 22050)
    assert float(silence.abs().max()) == 0.0


class _FramewiseNet(torch.nn.Module):
    """Per-frame outputs that do not depend on context, so stitching must reproduce them exactly."""

    def forward(self, x):  # noqa: D102
        return {"beat": x.sum(-1), "downbeat": x[..., 0] - x[..., 1]}


@pytest.mark.parametrize("frames", [40, 1488, 1500, 2990, 3501, 9000])
def test_excerpts_are_stitched_without_gaps(frames: int) -> None:
    spect = torch.rand(frames, 128)
    beat, downbeat = beat_this_backend.frame_logits(_FramewiseNet(), spect)
    assert torch.allclose(beat, spect.sum(-1), atol=1e-4)
    assert torch.allclose(downbeat, spect[:, 0] - spect[:, 1])


def test_tiny_checkpoint_loads_and_tracks(tiny_checkpoint: Path) -> None:
    from beat_this.model.beat_tracker import BeatThis

    model = beat_this_backend.load_model(str(tiny_checkpoint))
    saved = torch.load(tiny_checkpoint, weights_only=True)["state_dict"]
    for name, value in model.state_dict().items():
        assert torch.equal(value, saved[f"model.{name}"]), name
    assert isinstance(model, BeatThis) and not model.training
    y = render_click(BeatMap.constant(120.0, 8.0), 8.0, 22050)
    beats, downbeats, meter = beat_this_backend.track_beatmap(y, 22050, checkpoint=str(tiny_checkpoint))
    # an untrained network gives arbitrary beats; the whole path must run and give seconds
    assert beats.ndim == downbeats.ndim == 1 and 1 <= meter <= 12
    assert np.all((beats >= 0) & (beats <= 8.1))


def test_missing_checkpoint_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such Beat This! checkpoint"):
        beat_this_backend.load_model(str(tmp_path / "nothing.ckpt"))


def test_a_file_that_is_no_checkpoint_and_a_checkpoint_not_at_hand_are_clear_errors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drumjam.errors import FileFormatError

    (tmp_path / "notes.ckpt").write_text("not a checkpoint")
    torch.save({"weights": [1, 2, 3]}, tmp_path / "other.ckpt")
    for name in ("notes.ckpt", "other.ckpt"):
        with pytest.raises(FileFormatError, match="is not a Beat This! checkpoint"):
            beat_this_backend.load_model(str(tmp_path / name))

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("<urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(beat_this_backend.BackendUnavailable, match="could not be downloaded"):
        beat_this_backend.load_model("small9")


def test_analyse_audio_with_the_backend(tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    y = render_click(BeatMap.constant(100.0, 10.0), 10.0, 22050)
    monkeypatch.setattr(beat_this_backend, "track_beatmap", lambda s, sr, ckpt: (
        np.arange(0.0, 9.6, 0.6), np.arange(0.0, 9.6, 2.4), 4))
    beatmap = analyse_audio(y, 22050, backend="beat_this", checkpoint=str(tiny_checkpoint))
    assert beatmap.tempo_bpm == pytest.approx(100.0) and beatmap.meter == 4
    assert np.allclose(beatmap.downbeats_s, np.arange(0.0, 9.6, 2.4))


def test_missing_backend_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(beat_this_backend, "available", lambda: False)
    with pytest.raises(beat_this_backend.BackendUnavailable, match=r"drumjam\[beatthis\]"):
        analyse_audio(np.ones(44100, dtype=np.float32) * 0.1, 44100, backend="beat_this")


def test_cli_with_a_local_checkpoint(tiny_checkpoint: Path, tmp_path: Path) -> None:
    import soundfile as sf

    song = tmp_path / "click.wav"
    sf.write(song, render_click(BeatMap.constant(120.0, 6.0), 6.0, 22050), 22050)
    run = subprocess.run([sys.executable, "-m", "drumjam", "analyze", str(song), "--backend",
                          "beat_this", "--checkpoint", str(tmp_path / "missing.ckpt")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "missing.ckpt" in run.stderr
