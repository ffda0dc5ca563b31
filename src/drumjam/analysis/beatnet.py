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


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _lstm(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, bias: np.ndarray,
          state: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """One unidirectional LSTM layer of several models at once (gates in/forget/cell/out).

    ``x`` is ``(models, T, in)``, ``w_ih`` ``(models, 4 * hidden, in)``, ``w_hh``
    ``(models, 4 * hidden, hidden)``, ``bias`` ``(models, 4 * hidden)`` and ``state`` the
    hidden and cell states ``(models, 1, hidden)`` before the first step; returns the hidden
    states ``(models, T, hidden)`` and the state after the last step.
    """
    n_models, steps, _ = x.shape
    hidden = w_hh.shape[2]
    pre = np.matmul(x, w_ih.transpose(0, 2, 1)) + bias[:, None, :]
    w_hh_t = np.ascontiguousarray(w_hh.transpose(0, 2, 1))
    h, c = state
    out = np.empty((n_models, steps, hidden), np.float32)
    for t in range(steps):
        g = pre[:, t:t + 1] + np.matmul(h, w_hh_t)
        gates = _sigmoid(g)
        c = gates[..., hidden:2 * hidden] * c + gates[..., :hidden] * np.tanh(g[..., 2 * hidden:3 * hidden])
        h = gates[..., 3 * hidden:] * np.tanh(c)
        out[:, t] = h[:, 0]
    return out, (h, c)


class _Network:
    """The models over consecutive feature blocks, the LSTM state carried from block to block
    (the network is causal: each frame's output depends on it and the frames before alone)."""

    def __init__(self, models: tuple[dict[str, np.ndarray], ...]) -> None:
        self.w = {name: np.stack([m[name] for m in models]) for name in models[0]}
        self.n_models = len(models)
        self.n_layers = sum(1 for name in self.w if name.startswith("lstm.weight_ih_l"))
        zeros = np.zeros((self.n_models, 1, self.w["lstm.weight_hh_l0"].shape[2]), np.float32)
        self.states = [(zeros, zeros)] * self.n_layers

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """``(models, frames, 3)`` probabilities of the next frames' ``(frames, features)``."""
        w = self.w
        kernel = w["conv1.weight"][:, :, 0, :]  # (models, channels, width)
        windows = np.lib.stride_tricks.sliding_window_view(features, kernel.shape[2], axis=1)
        conv = np.einsum("tpk,mck->mtcp", windows, kernel) + w["conv1.bias"][:, None, :, None]
        conv = np.maximum(conv, 0.0)
        half = conv.shape[3] // 2
        pooled = np.maximum(conv[..., 0:2 * half:2], conv[..., 1:2 * half:2])
        x = np.matmul(pooled.reshape(self.n_models, features.shape[0], -1),
                      w["linear0.weight"].transpose(0, 2, 1)) + w["linear0.bias"][:, None]
        for layer in range(self.n_layers):
            x, self.states[layer] = _lstm(
                x, w[f"lstm.weight_ih_l{layer}"], w[f"lstm.weight_hh_l{layer}"],
                w[f"lstm.bias_ih_l{layer}"] + w[f"lstm.bias_hh_l{layer}"], self.states[layer])
        logits = np.matmul(x, w["linear.weight"].transpose(0, 2, 1)) + w["linear.bias"][:, None]
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
    run = _Network(models)
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
        self._network = _Network(bundled_models() if models is None else models)
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
