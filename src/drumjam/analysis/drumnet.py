"""The drum transcription network: log-mel features and a small convolutional network, in NumPy.

drumjam trains this network itself (``training/``, PyTorch, never at run time) on the Groove
MIDI Dataset rendered with many sampled kits, and bundles its weights
(``data/models/drums.npz``, with ``DRUMS_CARD.md``). Inference needs only NumPy.

Frames
    Audio at :data:`SAMPLE_RATE` Hz; frame ``i`` is the Hann-windowed :data:`N_FFT` samples
    centred on sample ``i * HOP`` (samples before 0 are silence), so frame times are
    ``i * HOP / SAMPLE_RATE`` seconds: 100 frames per second.
Features
    ``log(1 + 100 * mel)`` of the magnitude spectrum on :data:`N_MELS` mel bands; silence is 0.
Network
    Three 3x3 convolution blocks (ReLU, max-pooling over frequency), a per-frame dense layer and
    four dilated temporal convolutions with residual connections; two heads per class: onset
    probability and velocity (0-1). Every convolution is "valid" in time, so output frame ``t``
    depends on input frames ``t - CONTEXT_PAST_FRAMES`` to ``t + LOOKAHEAD_FRAMES`` only: the
    same numbers whether the audio arrives whole or in blocks.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

from drumjam.model import Voice

SAMPLE_RATE = 24000
HOP = 240
N_FFT = 1024
N_MELS = 80
FPS = SAMPLE_RATE / HOP
#: The classes the network hears, in the order of its outputs.
CLASSES: tuple[Voice, ...] = (
    Voice.KICK, Voice.SNARE, Voice.SIDE_STICK,
    Voice.HIHAT_CLOSED, Voice.HIHAT_OPEN, Voice.HIHAT_PEDAL,
    Voice.TOM_HIGH, Voice.TOM_MID, Voice.TOM_FLOOR,
    Voice.CRASH, Voice.RIDE, Voice.RIDE_BELL,
)
#: Temporal convolutions: (dilation, how many of its frames of context lie ahead).
TCN_DILATIONS: tuple[tuple[int, int], ...] = ((1, 1), (2, 0), (4, 0), (8, 0))
N_CONV_BLOCKS = 3
LOOKAHEAD_FRAMES = N_CONV_BLOCKS + sum(ahead for _, ahead in TCN_DILATIONS)
CONTEXT_PAST_FRAMES = N_CONV_BLOCKS + sum(2 * d - ahead for d, ahead in TCN_DILATIONS)
CONTEXT_FRAMES = CONTEXT_PAST_FRAMES + LOOKAHEAD_FRAMES

WEIGHTS_FILE = "drums.npz"


def window() -> np.ndarray:
    """The analysis window (periodic Hann, float32)."""
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)


def frames_to_features(frames: np.ndarray, mel_basis: np.ndarray) -> np.ndarray:
    """Log-mel features of audio frames.

    Parameters
    ----------
    frames : numpy.ndarray
        ``(n, N_FFT)`` windowed samples.
    mel_basis : numpy.ndarray
        ``(N_MELS, N_FFT // 2 + 1)`` mel filter bank.

    Returns
    -------
    numpy.ndarray
        ``(n, N_MELS)`` float32 features.
    """
    spectrum = np.abs(np.fft.rfft(frames, axis=1)).astype(np.float32)
    return np.log1p(100.0 * (spectrum @ mel_basis.T)).astype(np.float32)


def features(samples: np.ndarray, mel_basis: np.ndarray) -> np.ndarray:
    """Features of a whole mono signal at :data:`SAMPLE_RATE` (frame ``i`` centred on ``i*HOP``).

    Parameters
    ----------
    samples : numpy.ndarray
        1-D float32 audio at :data:`SAMPLE_RATE` Hz.
    mel_basis : numpy.ndarray
        The mel filter bank (see :func:`mel_basis`).

    Returns
    -------
    numpy.ndarray
        ``(ceil(len / HOP), N_MELS)`` features.
    """
    x = np.asarray(samples, dtype=np.float32)
    n_frames = -(-len(x) // HOP)
    padded = np.concatenate([np.zeros(N_FFT // 2, np.float32), x,
                             np.zeros(N_FFT, np.float32)])
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    return frames_to_features(padded[idx] * window(), mel_basis)


def _conv2d_valid_time(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3x3 convolution, valid in time and 'same' in frequency, as three matrix products.

    ``x`` is ``(T, F, C_in)``, ``w`` is ``(3, 3, C_in, C_out)``; returns ``(T - 2, F, C_out)``.
    The three frequency neighbours are laid side by side once; each time tap is then a
    contiguous slice of them (no copy), so the input is copied three times, not nine.
    """
    t, f, c = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (0, 0)))
    cols = np.concatenate([xp[:, df:df + f, :] for df in range(3)], axis=2)
    taps = w.reshape(3, 3 * c, -1)
    n = (t - 2) * f
    out = cols[:t - 2].reshape(n, 3 * c) @ taps[0]
    for dt in (1, 2):
        out += cols[dt:dt + t - 2].reshape(n, 3 * c) @ taps[dt]
    return out.reshape(t - 2, f, -1) + b


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0, out=x)


def forward(x: np.ndarray, weights: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Run the network on a block of features.

    Parameters
    ----------
    x : numpy.ndarray
        ``(T, N_MELS)`` features, ``T > CONTEXT_FRAMES``.
    weights : dict
        The network's arrays (see :func:`bundled_weights`).

    Returns
    -------
    onset : numpy.ndarray
        ``(T - CONTEXT_FRAMES, n_classes)`` onset probabilities; row ``j`` is input frame
        ``j + CONTEXT_PAST_FRAMES``.
    velocity : numpy.ndarray
        Same shape: velocities 0-1.
    """
    h = x[:, :, None].astype(np.float32)
    for k in range(N_CONV_BLOCKS):
        h = _relu(_conv2d_valid_time(h, weights[f"conv{k}.w"], weights[f"conv{k}.b"]))
        t, f, c = h.shape
        h = h[:, : f // 2 * 2].reshape(t, f // 2, 2, c).max(axis=2)
    h = h.reshape(h.shape[0], -1)
    h = _relu(h @ weights["dense.w"] + weights["dense.b"])
    for k, (d, ahead) in enumerate(TCN_DILATIONS):
        n = h.shape[0] - 2 * d
        w = weights[f"tcn{k}.w"]  # (3, C, C)
        y = h[:n] @ w[0] + h[d:d + n] @ w[1] + h[2 * d:2 * d + n] @ w[2] + weights[f"tcn{k}.b"]
        past = 2 * d - ahead
        h = h[past:past + n] + _relu(y)
    onset = 1.0 / (1.0 + np.exp(-(h @ weights["onset.w"] + weights["onset.b"])))
    velocity = 1.0 / (1.0 + np.exp(-(h @ weights["velocity.w"] + weights["velocity.b"])))
    return onset.astype(np.float32), velocity.astype(np.float32)


@lru_cache(maxsize=1)
def bundled_weights() -> dict[str, np.ndarray]:
    """The network's weights bundled with drumjam (float32 arrays, plus the mel filter bank,
    the per-class thresholds ``threshold`` and onset-time corrections ``offset_s``)."""
    path = resources.files("drumjam") / "data" / "models" / WEIGHTS_FILE
    with resources.as_file(path) as real, np.load(real) as data:
        return {k: data[k].astype(np.float32) for k in data.files}


def mel_basis() -> np.ndarray:
    """The mel filter bank the bundled network was trained with."""
    return bundled_weights()["mel_basis"]
