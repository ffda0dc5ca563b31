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
import scipy.fft

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
    # scipy's FFT computes in single precision for float32 frames (NumPy's in double)
    spectrum = np.abs(scipy.fft.rfft(np.asarray(frames, np.float32), axis=1))
    mel = spectrum @ mel_basis.T
    mel *= 100.0
    return np.log1p(mel, out=mel)


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
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:n_frames]
    return frames_to_features(frames * window(), mel_basis)


def _conv_block(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """A convolution block: 3x3 convolution (valid in time, 'same' in frequency), bias and
    ReLU, max-pooled over pairs of frequency bins (a last odd bin is dropped), into ``out``.

    Parameters
    ----------
    x : numpy.ndarray
        ``(T, F + 2, C_in)``: the input with a zero bin at each end of the frequency axis.
    w : numpy.ndarray
        ``(3, 3, C_in, C_out)`` kernel (time tap, frequency tap, in, out).
    b : numpy.ndarray
        ``(C_out,)`` bias.
    out : numpy.ndarray
        ``(T - 2, F // 2, C_out)``, any strides: where the output goes.

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    t, half, c = x.shape[0], (x.shape[1] - 2) // 2, x.shape[2]
    # each output's 3x3 neighbourhood is three runs (one a time tap) of 3 * C_in contiguous
    # values, so the matrix of all neighbourhoods is a strided view of x, laid out for the
    # product by one copy; its rows are ordered frame, bin parity, bin pair, so that the
    # pooling reads two contiguous halves
    step_t, step_f, step_c = x.strides
    cols = np.lib.stride_tricks.as_strided(x, (t - 2, 2, half, 3, 3 * c),
                                           (step_t, step_f, 2 * step_f, step_t, step_c),
                                           writeable=False)
    conv = (cols.reshape(-1, 9 * c) @ w.reshape(9 * c, -1)).reshape(t - 2, 2, half, -1)
    # the pooling first and the bias and ReLU after it, on half the values: the same numbers,
    # as adding a channel's bias and the ReLU keep the order of its values
    np.maximum(conv[:, 0], conv[:, 1], out=out)
    out += np.tile(b, (half, 1))  # a bias per bin and channel: a contiguous inner loop
    return _relu(out)


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
    t, f = x.shape
    # each convolution block's input with a zero bin at each end of the frequency axis
    h = np.zeros((t, f + 2, 1), np.float32)
    h[:, 1:-1, 0] = x
    for k in range(N_CONV_BLOCKS):
        t, f = h.shape[0] - 2, (h.shape[1] - 2) // 2
        c = weights[f"conv{k}.w"].shape[3]
        # the next block's input, zero-padded in frequency (the last block's: unpadded)
        pad = 1 if k + 1 < N_CONV_BLOCKS else 0
        out = np.zeros((t, f + 2 * pad, c), np.float32)
        _conv_block(h, weights[f"conv{k}.w"], weights[f"conv{k}.b"], out[:, pad:pad + f])
        h = out
    h = h.reshape(t, -1) @ weights["dense.w"]
    h += weights["dense.b"]
    _relu(h)
    for k, (d, ahead) in enumerate(TCN_DILATIONS):
        n = h.shape[0] - 2 * d
        w = weights[f"tcn{k}.w"]  # (3, C, C)
        y = h[:n] @ w[0] + h[d:d + n] @ w[1] + h[2 * d:2 * d + n] @ w[2] + weights[f"tcn{k}.b"]
        past = 2 * d - ahead
        y = _relu(y)
        y += h[past:past + n]
        h = y
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
