"""The NumPy drum network computes what the PyTorch network it was trained as computes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from drumjam.analysis import drumnet

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
import train  # noqa: E402


def test_numpy_forward_equals_torch_with_batch_norm_folded() -> None:
    torch.manual_seed(0)
    model = train.DrumNet()
    for module in model.modules():  # non-trivial batch-norm statistics to fold
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    mel = drumnet.mel_basis()
    weights = train.export(model, np.full(12, 0.5), np.zeros(12), mel)
    x = np.abs(np.random.default_rng(0).standard_normal((200, drumnet.N_MELS))).astype(np.float32)
    with torch.no_grad():
        onset, velocity = model.eval()(torch.from_numpy(x)[None])
    np_onset, np_velocity = drumnet.forward(x, weights)
    assert np_onset.shape == (200 - drumnet.CONTEXT_FRAMES, len(drumnet.CLASSES))
    np.testing.assert_allclose(np_onset, torch.sigmoid(onset)[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(np_velocity, torch.sigmoid(velocity)[0].numpy(), atol=1e-5)


def test_bundled_weights_fit_the_network() -> None:
    weights = drumnet.bundled_weights()
    assert weights["mel_basis"].shape == (drumnet.N_MELS, drumnet.N_FFT // 2 + 1)
    assert weights["threshold"].shape == weights["offset_s"].shape == (len(drumnet.CLASSES),)
    assert np.all((weights["threshold"] > 0) & (weights["threshold"] < 1))
    assert np.all(np.abs(weights["offset_s"]) < 0.02)
    size_mb = (Path(drumnet.__file__).parent.parent / "data" / "models" / "drums.npz").stat().st_size / 1e6
    assert size_mb <= 5.0
