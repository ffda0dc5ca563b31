"""Beat and downbeat activations from BeatNet's trained network, run with NumPy alone.

BeatNet (Heydari, Cwitkowitz and Duan, ISMIR 2021) is a small convolutional-recurrent network
trained on annotated music (among it the Ballroom, GTZAN and Rock Corpus datasets) to tell,
50 times a second, whether a frame is a downbeat, another beat, or neither. Its three released
models were each trained with one dataset left out. drumjam bundles their weights
(CC BY 4.0, see ``drumjam/data/models/CREDITS.md``) and averages the three; no download and
no deep-learning library is needed.

The network reads a log-frequency spectrogram (24 bands per octave, 30 Hz to 17 kHz, of 64 ms
Hann windows every 20 ms at 22,050 Hz) and its positive first difference. The spectrogram
here is computed the way the network was trained on (madmom's filterbank: triangular filters
on the FFT bins nearest to the band frequencies, each of unit area; ``log10(1 + |X|)``).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import NamedTuple

import numpy as np
import scipy.fft
import soxr

from drumjam.analysis.features import FrameStream
from drumjam.analysis.stream import array_blocks

SR = 22050
HOP = 441  # 20 ms: 50 frames a second
FPS = SR / HOP
FRAME = 1411  # 64 ms
BANDS_PER_OCTAVE = 24
FMIN_HZ, FMAX_HZ, FREF_HZ = 30.0, 17000.0, 440.0
WEIGHTS = "beatnet.npz"
#: Frames computed at a time (60 s): memory stays small for a song of any length.
BLOCK_FRAMES = 3000
#: Output columns of :func:`activations`.
BEAT, DOWNBEAT = 0, 1


def band_frequencies_hz() -> np.ndarray:
    """Centre frequencies of the log-spaced bands, aligned to A4 = 440 Hz."""
    lo = np.floor(np.log2(FMIN_HZ / FREF_HZ) * BANDS_PER_OCTAVE)
    hi = np.ceil(np.log2(FMAX_HZ / FREF_HZ) * BANDS_PER_OCTAVE)
    f = FREF_HZ * 2.0 ** (np.arange(lo, hi) / BANDS_PER_OCTAVE)
    f = f[np.searchsorted(f, FMIN_HZ):]
    return f[:np.searchsorted(f, FMAX_HZ, "right")]


@cache
def filterbank() -> np.ndarray:
    """``(fft_bins, bands)`` triangular filters of unit area over the FFT bins."""
    n_bins = FRAME >> 1
    bin_hz = np.fft.fftfreq(n_bins * 2, 1.0 / SR)[:n_bins]
    f = band_frequencies_hz()
    idx = np.clip(bin_hz.searchsorted(f), 1, n_bins - 1)
    idx -= (f - bin_hz[idx - 1]) < (bin_hz[idx] - f)  # nearest bin
    bins = np.unique(idx)
    fb = np.zeros((n_bins, bins.size - 2), dtype=np.float32)
    for band, (start, centre, stop) in enumerate(zip(bins[:-2], bins[1:-1], bins[2:])):
        if stop - start < 2:
            centre, stop = start, start + 1
        tri = np.concatenate([np.linspace(0, 1, centre - start, endpoint=False),
                              np.linspace(1, 0, stop - centre, endpoint=False)])
        fb[start:stop, band] = tri / tri.sum()
    return fb


class FeatureStream:
    """:func:`spectral_features` of audio fed a block at a time at :data:`SR`, returned in
    blocks of at most :data:`BLOCK_FRAMES` frames as they are complete."""

    def __init__(self) -> None:
        self._frames = FrameStream(FRAME, HOP, FRAME // 2)
        self._hann = np.hanning(FRAME).astype(np.float32)
        self._previous: np.ndarray | None = None

    def push(self, y: np.ndarray) -> list[np.ndarray]:
        """Feed mono samples; the features of the frames they complete."""
        return self._features(self._frames.push(y))

    def finish(self) -> list[np.ndarray]:
        """The features of the last frames (frame ``i`` for ``i * HOP`` within the audio)."""
        return self._features(self._frames.finish(-(-self._frames.n_samples // HOP)))

    def _features(self, frames: np.ndarray) -> list[np.ndarray]:
        out = []
        for first in range(0, frames.shape[0], BLOCK_FRAMES):
            block = frames[first:first + BLOCK_FRAMES]
            spectrum = np.abs(scipy.fft.rfft(block * self._hann, axis=1))
            spec = np.log10(spectrum[:, :FRAME >> 1] @ filterbank() + 1.0)
            previous = spec[:1] if self._previous is None else self._previous
            rise = np.maximum(np.diff(spec, axis=0, prepend=previous), 0.0)
            self._previous = spec[-1:]
            out.append(np.hstack([spec, rise]))
        return out


def spectral_features(samples: np.ndarray) -> np.ndarray:
    """``(frames, 2 * bands)``: log filtered spectrogram and its positive difference.

    Parameters
    ----------
    samples : numpy.ndarray
        Mono float samples at :data:`SR`. Frame ``i`` is centred on sample ``i * HOP``.
    """
    stream = FeatureStream()
    y = np.asarray(samples, np.float32)
    blocks = [f for block in array_blocks(y, SR) for f in stream.push(block)]
    blocks += stream.finish()
    return np.vstack(blocks) if blocks else np.zeros((0, 2 * filterbank().shape[1]), np.float32)


#: The LSTM's gates as the weights list them (PyTorch's order) ...
_GATE_IN, _GATE_FORGET, _GATE_CELL, _GATE_OUT = range(4)
#: ... and as :func:`_lstm` lays them out: the three sigmoid gates first, the cell gate last.
_GATE_ORDER = (_GATE_IN, _GATE_FORGET, _GATE_OUT, _GATE_CELL)


class _LstmWeights(NamedTuple):
    """One LSTM layer of several models, its weights prepared for :func:`_lstm`: the gates in
    :data:`_GATE_ORDER`, and the sigmoid gates' rows halved (exactly, a power of two) so that
    one ``tanh`` gives every gate: ``sigmoid(z) = 0.5 + 0.5 * tanh(z / 2)``."""

    #: ``(models, in, 4 * hidden)``: the input's share of the gates is ``x @ w_in[model]``.
    w_in: np.ndarray
    #: ``(4, models, 1, hidden)``: both biases, gate by gate.
    bias: np.ndarray
    #: ``(4, models, hidden, hidden)``: the previous hidden state's share of each gate is
    #: ``h @ w_rec[gate, model]``.
    w_rec: np.ndarray


def _lstm_weights(w_ih: np.ndarray, w_hh: np.ndarray, bias: np.ndarray) -> _LstmWeights:
    """Prepare ``w_ih`` ``(models, 4 * hidden, in)``, ``w_hh`` ``(models, 4 * hidden,
    hidden)`` and ``bias`` ``(models, 4 * hidden)`` (PyTorch's layout) for :func:`_lstm`."""
    n_models, rows, _ = w_ih.shape
    hidden = rows // 4
    scale = np.array([0.5 if g != _GATE_CELL else 1.0 for g in _GATE_ORDER], np.float32)

    def by_gate(w: np.ndarray) -> np.ndarray:  # (models, 4 * hidden, n) -> (4, models, n, hidden)
        w = w.reshape(n_models, 4, hidden, -1)[:, list(_GATE_ORDER)]
        return np.ascontiguousarray((w * scale[:, None, None]).transpose(1, 0, 3, 2))

    w_in = np.ascontiguousarray(by_gate(w_ih).transpose(1, 2, 0, 3).reshape(n_models, -1, rows))
    return _LstmWeights(w_in, by_gate(bias[..., None]), by_gate(w_hh))


def _lstm(x: np.ndarray, w: _LstmWeights,
          state: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """One unidirectional LSTM layer of several models at once.

    Parameters
    ----------
    x : numpy.ndarray
        ``(models, T, in)`` inputs (any strides).
    w : _LstmWeights
        The layer's weights.
    state : tuple of numpy.ndarray
        The hidden and cell states ``(models, 1, hidden)`` before the first step.

    Returns
    -------
    out : numpy.ndarray
        ``(T, models, 1, hidden)`` hidden states.
    state : tuple of numpy.ndarray
        The hidden and cell states after the last step.
    """
    n_models, steps, _ = x.shape
    hidden = w.w_rec.shape[-1]
    # the input's share of every step's gates at once, bias added, laid out (step, gate,
    # model, 1, hidden): a step's gates are one contiguous block, as the recurrent product
    # lays them out
    pre = np.empty((steps, 4, n_models, 1, hidden), np.float32)
    np.add(np.matmul(x, w.w_in).reshape(n_models, steps, 4, 1, hidden).transpose(1, 2, 0, 3, 4),
           w.bias, out=pre)
    # the recurrence: each step is a loop iteration in Python, so it makes few NumPy calls, all
    # into buffers made once and each over contiguous memory (the recurrent product, which
    # reads all the weights, takes most of the time)
    gates = np.empty((4, n_models, 1, hidden), np.float32)
    sigmoid, (in_gate, forget_gate, out_gate, cell_gate) = gates[:3], gates
    h, c = state[0], state[1].copy()
    tmp = np.empty_like(c)
    out = np.empty((steps, n_models, 1, hidden), np.float32)
    for t in range(steps):
        np.matmul(h, w.w_rec, out=gates)
        gates += pre[t]
        np.tanh(gates, out=gates)
        sigmoid *= 0.5
        sigmoid += 0.5
        c *= forget_gate
        np.multiply(in_gate, cell_gate, out=tmp)
        c += tmp
        np.tanh(c, out=tmp)
        h = out[t]
        np.multiply(out_gate, tmp, out=h)
    return out, (h.copy(), c)


class _Weights(NamedTuple):
    """The weights of several models of one architecture, prepared for :class:`_Network`."""

    #: ``(models * channels, width)``: the convolution's kernels, a row a model and channel.
    kernels: np.ndarray
    #: ``(models * channels, 1)``: their biases.
    conv_bias: np.ndarray
    #: ``(models, in, out)`` and ``(models, out)``: the first linear layer.
    linear0: tuple[np.ndarray, np.ndarray]
    #: The LSTM's layers.
    layers: tuple[_LstmWeights, ...]
    #: ``(models, hidden, 3)`` and ``(models, 3)``: the output layer.
    linear: tuple[np.ndarray, np.ndarray]


def _prepare(models: tuple[dict[str, np.ndarray], ...]) -> _Weights:
    """Stack the models' arrays (named as in the PyTorch state dict) and prepare them."""
    w = {name: np.stack([m[name] for m in models]) for name in models[0]}
    n_layers = sum(1 for name in w if name.startswith("lstm.weight_ih_l"))
    width = w["conv1.weight"].shape[3]
    return _Weights(
        kernels=w["conv1.weight"].reshape(-1, width),
        conv_bias=w["conv1.bias"].reshape(-1, 1),
        linear0=(w["linear0.weight"].transpose(0, 2, 1), w["linear0.bias"]),
        layers=tuple(_lstm_weights(w[f"lstm.weight_ih_l{k}"], w[f"lstm.weight_hh_l{k}"],
                                   w[f"lstm.bias_ih_l{k}"] + w[f"lstm.bias_hh_l{k}"])
                     for k in range(n_layers)),
        linear=(w["linear.weight"].transpose(0, 2, 1), w["linear.bias"]),
    )


@cache
def _bundled_weights() -> _Weights:
    return _prepare(bundled_models())


class _Network:
    """The models over consecutive feature blocks, the LSTM state carried from block to block
    (the network is causal: each frame's output depends on it and the frames before alone)."""

    def __init__(self, weights: _Weights) -> None:
        self.w = weights
        self.n_models = weights.linear0[0].shape[0]
        self.n_channels = weights.kernels.shape[0] // self.n_models
        zeros = np.zeros((self.n_models, 1, weights.layers[0].w_rec.shape[-1]), np.float32)
        self.states = [(zeros, zeros)] * len(weights.layers)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """``(models, frames, 3)`` probabilities of the next frames' ``(frames, features)``."""
        n_frames = features.shape[0]
        width = self.w.kernels.shape[1]
        # the convolution over frequency of every model and channel at once, as one product
        # per frame of the kernels with the frame's windows: (frames, models * channels, bins)
        windows = np.lib.stride_tricks.sliding_window_view(features, width, axis=1)
        conv = np.matmul(self.w.kernels, windows.transpose(0, 2, 1))
        # max-pooling by pairs of bins; the bias and ReLU after it (the same numbers: adding a
        # channel's bias and ReLU keep the order of its values), on half the values
        half = conv.shape[2] // 2
        pooled = np.maximum(conv[..., 0:2 * half:2], conv[..., 1:2 * half:2])
        pooled += self.w.conv_bias
        np.maximum(pooled, 0.0, out=pooled)
        # each model's channels side by side, as the linear layer reads them (views)
        w0, b0 = self.w.linear0
        x = np.empty((self.n_models, n_frames, w0.shape[2]), np.float32)
        for m in range(self.n_models):
            flat = pooled[:, m * self.n_channels:(m + 1) * self.n_channels].reshape(n_frames, -1)
            np.matmul(flat, w0[m], out=x[m])
        x += b0[:, None]
        for k, layer in enumerate(self.w.layers):
            out, self.states[k] = _lstm(x, layer, self.states[k])
            x = out[:, :, 0].transpose(1, 0, 2)
        w1, b1 = self.w.linear
        logits = np.matmul(x, w1) + b1[:, None]
        logits -= logits.max(axis=2, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=2, keepdims=True)


def network(features: np.ndarray, models: tuple[dict[str, np.ndarray], ...]) -> np.ndarray:
    """BeatNet models of one architecture: ``(models, frames, 3)`` probabilities of beat,
    downbeat and neither.

    Parameters
    ----------
    features : numpy.ndarray
        ``(frames, features)`` from :func:`spectral_features`.
    models : tuple of dict
        Arrays named as in the released PyTorch state dict (``conv1.weight``,
        ``linear0.weight``, ``lstm.weight_ih_l0``, ...), one dict a model.
    """
    run = _Network(_prepare(models))
    return np.concatenate([run(features[i:i + BLOCK_FRAMES])
                           for i in range(0, features.shape[0], BLOCK_FRAMES)], axis=1)


@cache
def bundled_models() -> tuple[dict[str, np.ndarray], ...]:
    """The released BeatNet models bundled with drumjam, as arrays by state-dict name."""
    path = resources.files("drumjam") / "data" / "models" / WEIGHTS
    with resources.as_file(path) as file, np.load(file) as archive:
        names = sorted({key.split("/")[0] for key in archive.files})
        return tuple({key.split("/", 1)[1]: archive[key].astype(np.float32)
                      for key in archive.files if key.startswith(name + "/")} for name in names)


class ActivationStream:
    """Beat and downbeat probabilities of audio fed a block at a time at :data:`SR`: only the
    probabilities are kept (400 bytes a second), not the audio or its spectrogram.

    Parameters
    ----------
    models : tuple of dict, optional
        Network weights; the bundled BeatNet models by default.
    """

    def __init__(self, models: tuple[dict[str, np.ndarray], ...] | None = None) -> None:
        self._features = FeatureStream()
        self._network = _Network(_bundled_weights() if models is None else _prepare(models))
        self._out: list[np.ndarray] = []

    def push(self, y: np.ndarray) -> None:
        """Feed mono samples at :data:`SR`."""
        self._add(self._features.push(y))

    def finish(self) -> np.ndarray:
        """The probabilities of all the audio fed, as :func:`activations` gives them."""
        self._add(self._features.finish())
        return np.vstack(self._out) if self._out else np.zeros((0, 2), np.float32)

    def _add(self, features: list[np.ndarray]) -> None:
        self._out += [self._network(f)[:, :, :2].mean(axis=0) for f in features]


def activations(samples: np.ndarray, sr: int,
                models: tuple[dict[str, np.ndarray], ...] | None = None) -> np.ndarray:
    """Beat and downbeat probabilities, :data:`FPS` frames a second, averaged over the models.

    Parameters
    ----------
    samples : numpy.ndarray
        Mono float samples.
    sr : int
        Their sample rate (resampled to 22,050 Hz with soxr).
    models : tuple of dict, optional
        Network weights; the bundled BeatNet models by default.

    Returns
    -------
    numpy.ndarray
        ``(frames, 2)``: columns :data:`BEAT` and :data:`DOWNBEAT`; frame ``i`` is at
        ``i / FPS`` seconds.
    """
    y = np.asarray(samples, dtype=np.float32)
    if sr != SR:
        y = soxr.resample(y, sr, SR).astype(np.float32)
    stream = ActivationStream(models)
    for block in array_blocks(y, SR):
        stream.push(block)
    return stream.finish()
