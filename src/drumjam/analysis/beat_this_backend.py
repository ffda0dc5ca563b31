"""Optional backend: Beat This! (Foscarin, Schlüter & Widmer, ISMIR 2024).

Needs PyTorch and the ``beat-this`` package (``pip install 'drumjam[beatthis]'``). drumjam
uses the package's network definition and peak-picking, and computes the network's input --
the log-magnitude mel spectrogram at 50 frames a second that Beat This! was trained on -- with
``torch.stft`` and librosa's mel filters, so torchaudio is not needed.

Weights: a checkpoint name (``"final0"``, ``"small0"``, ...) is downloaded once from the
authors' site into the torch hub cache; a path to a ``.ckpt`` file is read from disk.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from drumjam.errors import DrumjamError, FileFormatError, InputError
from drumjam.model import BeatMap

DEFAULT_CHECKPOINT = "final0"
CHECKPOINT_URL = "https://cloud.cp.jku.at/public.php/dav/files/7ik4RrBKTS273gp"

#: The input Beat This! was trained on: 22.05 kHz audio, 1024-point frames every 441 samples
#: (50 frames a second), 128 mel bands (Slaney scale, unnormalised) from 30 Hz to 11 kHz,
#: magnitudes divided by sqrt(1024), then log(1 + 1000 x).
SAMPLE_RATE = 22050
N_FFT = 1024
HOP = 441
FPS = SAMPLE_RATE / HOP
N_MELS = 128
F_MIN_HZ = 30.0
F_MAX_HZ = 11000.0
LOG_MULTIPLIER = 1000.0
#: The network sees excerpts of 1500 frames (30 s); predictions within 6 frames of an
#: excerpt's edge are dropped and taken from the neighbouring excerpt instead.
CHUNK_FRAMES = 1500
BORDER_FRAMES = 6


class BackendUnavailable(DrumjamError, RuntimeError):
    """An optional analysis backend is not installed."""


def available() -> bool:
    """True when PyTorch and beat_this can be imported."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "beat_this"))


def require() -> None:
    """Raise :class:`BackendUnavailable` with the install command unless the backend imports."""
    if not available():
        raise BackendUnavailable(
            "the beat_this backend needs PyTorch and beat-this: "
            "pip install 'drumjam[beatthis]' (or use --backend drumjam)"
        )


@functools.lru_cache(maxsize=1)
def _mel_filters() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=F_MIN_HZ,
                               fmax=F_MAX_HZ, htk=False, norm=None).astype(np.float32)


def log_mel_spectrogram(samples: np.ndarray, sr: int) -> Any:
    """The network input for mono audio: a ``(frames, 128)`` float tensor at 50 frames a second.

    Parameters
    ----------
    samples : numpy.ndarray
        Mono samples.
    sr : int
        Their sample rate (resampled to 22.05 kHz).
    """
    import torch

    y = np.asarray(samples, dtype=np.float32)
    if y.ndim != 1:
        raise InputError(f"Beat This! needs mono samples, got shape {y.shape}")
    if sr != SAMPLE_RATE:
        y = soxr.resample(y, sr, SAMPLE_RATE).astype(np.float32)
    wave = torch.from_numpy(np.ascontiguousarray(y))
    spec = torch.stft(wave, n_fft=N_FFT, hop_length=HOP, window=torch.hann_window(N_FFT),
                      center=True, pad_mode="reflect", normalized=True, return_complex=True).abs()
    mel = torch.from_numpy(_mel_filters()) @ spec
    return torch.log1p(LOG_MULTIPLIER * mel).T.contiguous()


def _load_checkpoint(checkpoint: str, device: str) -> dict:
    import torch

    path = Path(checkpoint)
    if path.suffix == ".ckpt" or path.exists():
        if not path.is_file():
            raise InputError(f"{checkpoint}: no such Beat This! checkpoint file")
        try:
            data = torch.load(path, map_location=device, weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a file not its own
            raise FileFormatError(path, f"is not a Beat This! checkpoint ({type(exc).__name__})",
                                  "give a .ckpt file of the authors' releases") from None
        if not isinstance(data, dict) or not isinstance(data.get("state_dict"), dict):
            raise FileFormatError(path, "is not a Beat This! checkpoint (no state_dict)",
                                  "give a .ckpt file of the authors' releases")
        return data
    try:
        return torch.hub.load_state_dict_from_url(  # downloaded once, then from the hub cache
            f"{CHECKPOINT_URL}/{checkpoint}.ckpt", file_name=f"beat_this-{checkpoint}.ckpt",
            map_location=device)
    except OSError as exc:  # urllib's URLError and HTTPError are OSErrors
        raise BackendUnavailable(
            f"the Beat This! checkpoint '{checkpoint}' is not on this machine and could not be "
            f"downloaded ({exc}); connect once to download it, or give a .ckpt file with "
            "--checkpoint") from None


@functools.lru_cache(maxsize=2)
def load_model(checkpoint: str = DEFAULT_CHECKPOINT, device: str = "cpu") -> Any:
    """The Beat This! network with the weights of a checkpoint, ready for inference.

    Parameters
    ----------
    checkpoint : str
        A checkpoint name of the authors' (downloaded on first use) or a ``.ckpt`` path.
    device : str
        Torch device.
    """
    require()
    from beat_this.model.beat_tracker import BeatThis

    data = _load_checkpoint(checkpoint, device)
    accepted = set(inspect.signature(BeatThis).parameters)
    hparams = {k: v for k, v in data.get("hyper_parameters", {}).items() if k in accepted}
    model = BeatThis(**hparams)
    state = {k.removeprefix("model."): v for k, v in data["state_dict"].items()}
    model.load_state_dict(state)
    return model.to(device).eval()


def frame_logits(model: Any, spect: Any) -> tuple[Any, Any]:
    """Beat and downbeat logits per frame of a whole piece, predicted excerpt by excerpt."""
    import torch

    n = spect.shape[0]
    step = CHUNK_FRAMES - 2 * BORDER_FRAMES
    starts = list(range(-BORDER_FRAMES, max(n - BORDER_FRAMES, 1), step))
    if n > step and starts[-1] + CHUNK_FRAMES > n + BORDER_FRAMES:
        starts[-1] = n - (CHUNK_FRAMES - BORDER_FRAMES)  # last excerpt ends with the piece
    beat = torch.full((n,), -1000.0)
    downbeat = torch.full((n,), -1000.0)
    with torch.inference_mode():
        for start in reversed(starts):  # earlier excerpts overwrite the overlap
            lo, hi = max(start, 0), min(start + CHUNK_FRAMES, n)
            chunk = torch.nn.functional.pad(
                spect[lo:hi], (0, 0, lo - start, max(0, min(BORDER_FRAMES, start + CHUNK_FRAMES - n))))
            out = model(chunk.unsqueeze(0))
            keep_lo = start + BORDER_FRAMES
            keep_hi = min(start + CHUNK_FRAMES - BORDER_FRAMES, n)
            a, b = max(keep_lo, 0), keep_hi
            beat[a:b] = out["beat"][0, a - start : b - start]
            downbeat[a:b] = out["downbeat"][0, a - start : b - start]
    return beat, downbeat


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
    model = load_model(str(checkpoint), device)
    from beat_this.model.postprocessor import Postprocessor

    beat, downbeat = frame_logits(model, log_mel_spectrogram(samples, sr).to(device))
    beats, downbeats = Postprocessor(type="minimal", fps=round(FPS))(beat.cpu(), downbeat.cpu())
    beats = np.asarray(beats, dtype=np.float64)
    downbeats = np.asarray(downbeats, dtype=np.float64)
    return beats, downbeats, meter_of(beats, downbeats)


def to_beatmap(beats_s: np.ndarray, downbeats_s: np.ndarray, meter: int, confidence: float) -> BeatMap:
    """A BeatMap from Beat This! output (downbeats snapped to the nearest beat)."""
    if beats_s.size < 2:
        raise DrumjamError("Beat This! found fewer than two beats in the audio")
    idx = np.unique(np.abs(beats_s[None, :] - downbeats_s[:, None]).argmin(axis=1)) if downbeats_s.size else []
    return BeatMap(beats_s, beats_s[idx], meter=meter, confidence=confidence)
