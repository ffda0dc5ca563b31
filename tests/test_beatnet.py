"""BeatNet's network run with NumPy: its input, its arithmetic, its weights and what it hears."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from drumjam.analysis import beatnet
from drumjam.io.audio import load_audio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from beats import read_annotation

torch = pytest.importorskip("torch")


def test_filterbank_has_unit_area_log_spaced_bands() -> None:
    fb = beatnet.filterbank()
    assert fb.shape[0] == beatnet.FRAME >> 1
    assert 120 <= fb.shape[1] <= 140  # 24 a octave from 30 Hz to 17 kHz, low duplicates merged
    np.testing.assert_allclose(fb.sum(axis=0), 1.0, rtol=1e-5)
    centres = fb.argmax(axis=0)
    assert np.all(np.diff(centres) > 0)


def test_a_sine_lights_the_band_of_its_frequency() -> None:
    t = np.arange(beatnet.SR) / beatnet.SR
    feats = beatnet.spectral_features(0.5 * np.sin(2 * np.pi * 1000.0 * t))
    n_bands = beatnet.filterbank().shape[1]
    assert feats.shape == (int(np.ceil(t.size / beatnet.HOP)), 2 * n_bands)
    bin_hz = beatnet.SR / (2 * (beatnet.FRAME >> 1))
    loudest = beatnet.filterbank()[:, feats[25, :n_bands].argmax()].argmax() * bin_hz
    assert loudest == pytest.approx(1000.0, rel=0.04)
    # the difference half is the rise: only the first frames reaching the tone have one
    assert feats[25, n_bands:].max() < 1e-6 < feats[:2, n_bands:].max()


def test_features_equal_madmoms_which_the_network_was_trained_on(shared_data: Path) -> None:
    from beats import _import_madmom

    _import_madmom()
    import soxr
    from madmom.audio.signal import FramedSignalProcessor, SignalProcessor
    from madmom.audio.spectrogram import (
        FilteredSpectrogramProcessor,
        LogarithmicSpectrogramProcessor,
        SpectrogramDifferenceProcessor,
    )
    from madmom.audio.stft import ShortTimeFourierTransformProcessor
    from madmom.processors import SequentialProcessor

    y, sr = load_audio(shared_data / "beats" / "tutorial_easy_example.flac")
    y = soxr.resample(y[: 10 * sr], sr, beatnet.SR).astype(np.float32)
    madmom = SequentialProcessor((
        SignalProcessor(num_channels=1, sample_rate=beatnet.SR),
        FramedSignalProcessor(frame_size=beatnet.FRAME, hop_size=beatnet.HOP),
        ShortTimeFourierTransformProcessor(),
        FilteredSpectrogramProcessor(num_bands=24, fmin=30, fmax=17000, norm_filters=True),
        LogarithmicSpectrogramProcessor(mul=1, add=1),
        SpectrogramDifferenceProcessor(diff_ratio=0.5, positive_diffs=True, stack_diffs=np.hstack),
    ))
    np.testing.assert_allclose(beatnet.spectral_features(y), np.asarray(madmom(y)), atol=1e-5)


class _Reference(torch.nn.Module):
    """The BeatNet architecture in PyTorch (conv, pool, linear, 2-layer LSTM, linear)."""

    def __init__(self, n_in: int = 272, hidden: int = 150) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv1d(1, 2, 10)
        self.linear0 = torch.nn.Linear(2 * ((n_in - 9) // 2), 150)
        self.lstm = torch.nn.LSTM(150, hidden, 2, batch_first=True)
        self.linear = torch.nn.Linear(hidden, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.max_pool1d(torch.relu(self.conv1(x[:, None, :])), 2)
        h = self.linear0(h.reshape(x.shape[0], -1))
        h, _ = self.lstm(h[None])
        return torch.softmax(self.linear(h[0]), dim=1)


def _random_models(n: int) -> tuple[list[_Reference], tuple[dict[str, np.ndarray], ...]]:
    torch.manual_seed(3)
    refs = [_Reference().eval() for _ in range(n)]
    return refs, tuple({k: v.detach().numpy() for k, v in r.state_dict().items()} for r in refs)


@pytest.mark.parametrize("block_frames", [beatnet.BLOCK_FRAMES, 64])
def test_numpy_network_equals_pytorch(monkeypatch: pytest.MonkeyPatch, block_frames: int) -> None:
    """Also when the frames go through in blocks, the LSTM state carried across."""
    monkeypatch.setattr(beatnet, "BLOCK_FRAMES", block_frames)
    refs, weights = _random_models(2)
    feats = np.random.default_rng(0).random((300, 272), dtype=np.float32)
    got = beatnet.network(feats, weights)
    with torch.no_grad():
        want = np.stack([r(torch.from_numpy(feats)).numpy() for r in refs])
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_features_in_blocks_equal_features_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    y = np.random.default_rng(1).standard_normal(beatnet.SR).astype(np.float32) * 0.1
    whole = beatnet.spectral_features(y)
    monkeypatch.setattr(beatnet, "BLOCK_FRAMES", 7)
    np.testing.assert_allclose(beatnet.spectral_features(y), whole, atol=1e-6)


def test_converter_reads_the_wheel_and_writes_loadable_weights(tmp_path: Path) -> None:
    refs, weights = _random_models(2)
    wheel = tmp_path / "BeatNet-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for i, ref in enumerate(refs, start=1):
            buf = io.BytesIO()
            torch.save(ref.state_dict(), buf)
            zf.writestr(f"BeatNet/models/model_{i}_weights.pt", buf.getvalue())
        zf.writestr("BeatNet/models/model-1.pt", b"a pickled whole model: not read")
    out = tmp_path / "beatnet.npz"
    script = ROOT / "scripts" / "convert_beatnet_weights.py"
    subprocess.run([sys.executable, str(script), str(wheel), "--out", str(out)], check=True,
                   capture_output=True)
    with np.load(out) as archive:
        assert sorted({k.split("/")[0] for k in archive.files}) == ["model_1", "model_2"]
        np.testing.assert_array_equal(archive["model_2/lstm.weight_hh_l1"], weights[1]["lstm.weight_hh_l1"])

    empty = tmp_path / "empty.whl"
    zipfile.ZipFile(empty, "w").close()
    done = subprocess.run([sys.executable, str(script), str(empty), "--out", str(out)], check=False,
                          capture_output=True, text=True)
    assert done.returncode != 0 and "no models/model_N_weights.pt" in done.stderr


def test_bundled_models_are_the_three_released_ones() -> None:
    models = beatnet.bundled_models()
    assert len(models) == 3
    for w in models:
        assert w["lstm.weight_hh_l1"].shape == (600, 150) and w["linear.weight"].shape == (3, 150)
    assert not np.allclose(models[0]["linear.weight"], models[1]["linear.weight"])


def test_network_hears_the_annotated_downbeats_of_a_real_song(shared_data: Path) -> None:
    """GTZAN country, a dataset the first model never saw: the downbeat probability at the
    annotated downbeats is well above that at the other beats."""
    audio = shared_data / "beats" / "gtzan_country_00000.wav"
    ref, ref_down = read_annotation(audio.with_suffix(".beats"))
    y, sr = load_audio(audio)
    act = beatnet.activations(y, sr, beatnet.bundled_models()[:1])
    assert act.shape == (int(np.ceil(y.size / sr * beatnet.FPS)), 2)

    def at(times: np.ndarray, column: int) -> np.ndarray:
        frames = np.clip(np.round(times * beatnet.FPS).astype(int), 0, act.shape[0] - 1)
        return np.array([act[max(0, f - 2):f + 3, column].max() for f in frames])

    others = ref[~np.isin(ref, ref_down)]
    assert at(ref_down, beatnet.DOWNBEAT).mean() > 2 * at(others, beatnet.DOWNBEAT).mean()
    between = ref[:-1] + 0.5 * np.diff(ref)
    assert at(others, beatnet.BEAT).mean() > 2 * at(between, beatnet.BEAT).mean()
