"""Optional backend: Beat This! (Foscarin, Schlüter & Widmer, ISMIR 2024).

Needs the extra ``pip install 'drumjam[beatthis]'`` (packages ``beat-this`` and PyTorch with
torchaudio). A checkpoint name such as ``"final0"`` is downloaded by beat_this into the torch
hub cache on first use; a path to a ``.ckpt`` file is loaded from disk.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np

from drumjam.errors import DrumjamError
from drumjam.model import BeatMap

DEFAULT_CHECKPOINT = "final0"


class BackendUnavailable(DrumjamError, RuntimeError):
    """An optional analysis backend is not installed."""


def available() -> bool:
    """True when beat_this and torch can be imported."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "torchaudio", "beat_this"))


def require() -> None:
    """Raise :class:`BackendUnavailable` with the install command unless the backend imports."""
    if not available():
        raise BackendUnavailable(
            "the beat_this backend needs PyTorch, torchaudio and beat-this: "
            "pip install 'drumjam[beatthis]' (or use --backend drumjam)"
        )


@functools.lru_cache(maxsize=2)
def _tracker(checkpoint: str, device: str):
    require()
    from beat_this.inference import Audio2Beats

    return Audio2Beats(checkpoint_path=checkpoint, device=device, dbn=False)


def meter_of(beats_s: np.ndarray, downbeats_s: np.ndarray) -> int:
    """Most common number of beats between consecutive downbeats (4 if it cannot tell)."""
    if downbeats_s.size < 2:
        return 4
    counts = np.diff(np.searchsorted(beats_s, downbeats_s - 1e-3))
    counts = counts[(counts >= 2) & (counts <= 12)]
    return int(np.bincount(counts).argmax()) if counts.size else 4


def track_beatmap(
    samples: np.ndarray, sr: int, checkpoint: str = DEFAULT_CHECKPOINT, device: str = "cpu"
) -> tuple[np.ndarray, np.ndarray, int]:
    """Beats, downbeats and metre of mono audio by Beat This!.

    Parameters
    ----------
    samples : numpy.ndarray
        Mono float samples.
    sr : int
        Sample rate.
    checkpoint : str
        A Beat This! checkpoint name (downloaded on first use) or a local ``.ckpt`` path.
    device : str
        Torch device.

    Returns
    -------
    beats_s, downbeats_s : numpy.ndarray
    meter : int
    """
    beats, downbeats = _tracker(str(checkpoint), device)(np.asarray(samples, np.float32), sr)
    beats = np.asarray(beats, dtype=np.float64)
    downbeats = np.asarray(downbeats, dtype=np.float64)
    return beats, downbeats, meter_of(beats, downbeats)


def to_beatmap(beats_s: np.ndarray, downbeats_s: np.ndarray, meter: int, confidence: float) -> BeatMap:
    """A BeatMap from Beat This! output (downbeats snapped to the nearest beat)."""
    if beats_s.size < 2:
        raise DrumjamError("Beat This! found fewer than two beats in the audio")
    idx = np.unique(np.abs(beats_s[None, :] - downbeats_s[:, None]).argmin(axis=1)) if downbeats_s.size else []
    return BeatMap(beats_s, beats_s[idx], meter=meter, confidence=confidence)
