"""Two acoustic kits in one room: which kit each transcribed hit came from.

Each player has a microphone near their own kit, and each microphone hears both kits. The
**kit check** (each player alone hits each drum a few times) learns, per kit, how the other
microphone hears it: how much later (``delay_ms``) and how much quieter (``gain_db``), from
the rise of energy at each hit's onset in both microphones (:func:`learn_kit`). It also says
how loud the player's microphone is (peak level, clipping) and the input gain that would
bring the hits to a comfortable peak.

During the song each microphone is transcribed on its own, so microphone A finds kit A's hits
and some of kit B's bleed. :func:`attribute` keeps a hit of microphone A when its onset is
louder than kit B's bleed explains: kit B's onset, looked up in microphone B where it arrived
``delay_ms`` earlier, times B's ``gain_db``, by :data:`OWN_MARGIN_DB` (a hit of both kits at
once stays with both). Onsets are measured in a few frequency bands weighted by where the
check found each drum's energy, so a kick's bleed is not taken for the hi-hat played with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drumjam.errors import InputError
from drumjam.model import Hit, voice_group

#: Onset rise measured over this window after the onset (against the window before it).
RISE_S = 0.010
#: Transcribed times are searched this far either side for the steepest rise.
SEARCH_S = 0.010
#: Once an onset is found in one microphone, the other is searched this far around the
#: learned delay.
ALIGN_S = 0.0007
#: Longest delay between the two microphones learned (10 m of air).
MAX_DELAY_S = 0.03
#: A hit is the microphone's own kit's when its onset is this much louder than the other
#: kit's bleed alone would make it (3 dB: at least as loud as the bleed itself).
OWN_MARGIN_DB = 3.0
#: Hits of one kit the check needs.
MIN_CHECK_HITS = 4
#: Peak level the suggested input gain aims at, in dBFS.
TARGET_PEAK_DBFS = -12.0
#: A sample this close to full scale counts as clipped.
CLIP_LEVEL = 0.999


@dataclass(frozen=True)
class KitSignature:
    """How a kit sounds in its own and in the other microphone, learned in the kit check.

    Attributes
    ----------
    delay_ms : float
        How much later the other microphone hears the kit.
    gain_db : float
        How much louder (negative: quieter) the other microphone hears the kit's onsets.
    spread_db : float
        Median absolute deviation of ``gain_db`` over the check's hits.
    peak_dbfs : float
        Loudest sample of the kit in its own microphone.
    input_gain_db : float
        Gain to apply to the microphone to bring its peaks to -12 dBFS.
    clipped : bool
        Whether the microphone clipped during the check (turn the input down).
    hits : int
        Hits the check used.
    groups : dict
        Per voice group heard in the check: band weights of its onsets and its ``gain_db``.
    """

    delay_ms: float
    gain_db: float
    spread_db: float
    peak_dbfs: float
    input_gain_db: float
    clipped: bool
    hits: int
    groups: dict[str, tuple[tuple[float, ...], float]] = field(default_factory=dict)

    def weights_and_gain(self, group: str) -> tuple[np.ndarray, float]:
        """Band weights and gain (dB) for a voice group; all bands and the overall gain for a
        drum the check did not hear."""
        if group in self.groups:
            weights, gain_db = self.groups[group]
            return np.asarray(weights), gain_db
        return np.full(len(BAND_EDGES_HZ), 1.0 / len(BAND_EDGES_HZ)), self.gain_db

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"delay_ms": round(self.delay_ms, 2), "gain_db": round(self.gain_db, 1),
                "spread_db": round(self.spread_db, 1), "peak_dbfs": round(self.peak_dbfs, 1),
                "input_gain_db": round(self.input_gain_db, 1), "clipped": self.clipped,
                "hits": self.hits,
                "groups": {g: {"band_weights": [round(x, 3) for x in w], "gain_db": round(d, 1)}
                           for g, (w, d) in self.groups.items()}}


#: Band edges in Hz: each drum's onset is weighed in the bands where it has its energy.
BAND_EDGES_HZ = (0.0, 200.0, 1500.0, 6000.0)
_FRAME = 512
_HOP = 32
_CHUNK_FRAMES = 2048


class _Bands:
    """Energy of a signal in a few frequency bands, every 32 samples, summed up cumulatively,
    for onset rises at any time and with any band weights."""

    def __init__(self, x: np.ndarray, sample_rate: int) -> None:
        a = np.asarray(x, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(a)):
            raise InputError("the microphone audio holds NaN or infinite samples")
        self.sr = sample_rate
        a = np.concatenate([np.zeros(_FRAME // 2, np.float32), a, np.zeros(_FRAME, np.float32)])
        n = (a.size - _FRAME) // _HOP + 1
        frames = np.lib.stride_tricks.sliding_window_view(a, _FRAME)[::_HOP][:n]
        window = np.hanning(_FRAME).astype(np.float32)
        band = np.searchsorted(BAND_EDGES_HZ, np.fft.rfftfreq(_FRAME, 1.0 / sample_rate),
                               side="right") - 1
        onehot = (band[:, None] == np.arange(len(BAND_EDGES_HZ))[None, :]).astype(np.float32)
        energy = np.empty((n, len(BAND_EDGES_HZ)))
        for i in range(0, n, _CHUNK_FRAMES):  # in chunks: a few MB at a time
            power = np.abs(np.fft.rfft(frames[i:i + _CHUNK_FRAMES] * window, axis=1)) ** 2
            energy[i:i + _CHUNK_FRAMES] = power.astype(np.float32) @ onehot
        self.cum = np.concatenate([np.zeros((1, energy.shape[1])), np.cumsum(energy, 0)])
        self.w = max(1, int(round(RISE_S * sample_rate / _HOP)))

    def rises(self, t_s: float, search_s: float) -> np.ndarray:
        """Rise of energy per band (window after minus window before) at every frame within
        ``search_s`` of ``t_s``: (frames, bands)."""
        centre = int(round(t_s * self.sr / _HOP))
        reach = max(0, int(round(search_s * self.sr / _HOP)))
        at = np.clip(np.arange(centre - reach, centre + reach + 1), self.w, self.cum.shape[0] - 1 - self.w)
        return 2 * self.cum[at] - self.cum[at + self.w] - self.cum[at - self.w]

    def rise(self, t_s: float, weights: np.ndarray,
             search_s: float = SEARCH_S) -> tuple[float, float]:
        """Largest weighted rise within ``search_s`` of ``t_s``, and where it is (s)."""
        gain = -self.rises(t_s, search_s) @ weights
        best = int(np.argmax(gain))
        centre = int(round(t_s * self.sr / _HOP))
        reach = max(0, int(round(search_s * self.sr / _HOP)))
        return float(max(gain[best], 0.0)), (centre - reach + best) * _HOP / self.sr


def _profile(rises: np.ndarray) -> np.ndarray:
    """Band weights from onset rises (rows): the median share of each band."""
    shares = np.maximum(rises, 0.0) / np.maximum(np.maximum(rises, 0.0).sum(1, keepdims=True), 1e-30)
    w = np.median(shares, axis=0)
    return w / max(w.sum(), 1e-30)


def learn_kit(own: np.ndarray, other: np.ndarray, hits: Sequence[Hit], *,
              sample_rate: int) -> KitSignature:
    """Learn how the other microphone hears a kit, from a kit check played alone.

    Parameters
    ----------
    own, other : numpy.ndarray
        The kit's own microphone and the other one, same length and clock.
    hits : sequence of Hit
        The kit's hits as its own microphone heard them (its transcription).
    sample_rate : int
        Of both, in Hz.

    Returns
    -------
    KitSignature

    Raises
    ------
    InputError
        If fewer than four hits were heard (play each drum a few times when asked).
    """
    n = min(len(own), len(other))
    hits = [h for h in hits if h.time_s + RISE_S + MAX_DELAY_S + 0.05 < n / sample_rate]
    if len(hits) < MIN_CHECK_HITS:
        raise InputError(f"the kit check heard {len(hits)} hits; hit each drum a few times "
                         f"(at least {MIN_CHECK_HITS} hits) and check again")
    own_b, other_b = _Bands(own, sample_rate), _Bands(other, sample_rate)
    delay_s = float(np.median([_delay_s(own, other, h.time_s, sample_rate) for h in hits]))
    flat = np.ones(len(BAND_EDGES_HZ))
    groups: dict[str, tuple[tuple[float, ...], float]] = {}
    all_gains = []
    for group in sorted({voice_group(h.voice).value for h in hits}):
        mine = [h for h in hits if voice_group(h.voice).value == group]
        at = [own_b.rise(h.time_s, flat)[1] for h in mine]
        weights = _profile(np.array([-own_b.rises(t, 0.0)[0] for t in at]))
        gains = []
        for t in at:
            e_own, _ = own_b.rise(t, weights, 0.0)
            e_other, _ = other_b.rise(t + delay_s, weights, ALIGN_S)
            if e_own > 0:
                gains.append(10 * np.log10(max(e_other, 1e-20) / e_own))
        if gains:
            groups[group] = (tuple(float(w) for w in weights), float(np.median(gains)))
            all_gains += gains
    if len(all_gains) < MIN_CHECK_HITS:
        raise InputError("the kit check's hits were too soft to measure; hit harder and check again")
    gains = np.asarray(all_gains)
    gain_db = float(np.median(gains))
    peak = float(np.max(np.abs(np.asarray(own, dtype=np.float64))))
    peak_dbfs = float(20 * np.log10(max(peak, 1e-9)))
    return KitSignature(
        delay_ms=1000 * delay_s, gain_db=gain_db,
        spread_db=float(np.median(np.abs(gains - gain_db))),
        peak_dbfs=peak_dbfs, input_gain_db=TARGET_PEAK_DBFS - peak_dbfs,
        clipped=bool(peak >= CLIP_LEVEL), hits=len(hits), groups=groups)


def _delay_s(own: np.ndarray, other: np.ndarray, t_s: float, sample_rate: int) -> float:
    """Delay of the other microphone behind the own one around a hit (GCC-PHAT)."""
    start = max(0, int(round((t_s - 0.005) * sample_rate)))
    n = int(round(0.045 * sample_rate))
    reach = int(round(MAX_DELAY_S * sample_rate))
    a = np.asarray(own[start:start + n], dtype=np.float64)
    b = np.asarray(other[start:start + n + reach], dtype=np.float64)
    size = 1 << int(np.ceil(np.log2(a.size + b.size)))
    spec = np.fft.rfft(b, size) * np.conj(np.fft.rfft(a * np.hanning(a.size), size))
    corr = np.fft.irfft(spec / np.maximum(np.abs(spec), 1e-20), size)[:reach + 1]
    return int(np.argmax(corr)) / sample_rate


def attribute(mics: Sequence[np.ndarray], hits: Sequence[Sequence[Hit]],
              kits: Sequence[KitSignature], *, sample_rate: int) -> list[list[Hit]]:
    """Each kit's hits: those of its own microphone that its bleed partner does not explain.

    Parameters
    ----------
    mics : sequence of two numpy.ndarray
        Microphone A (near kit A) and B, on one clock.
    hits : sequence of two lists of Hit
        Each microphone's transcription (times on that clock).
    kits : sequence of two KitSignature
        From :func:`learn_kit` for kit A (own A, other B) and kit B (own B, other A).
    sample_rate : int
        Of the microphones, in Hz.

    Returns
    -------
    list of two lists of Hit
        Kit A's hits and kit B's hits.
    """
    if not len(mics) == len(hits) == len(kits) == 2:
        raise InputError("attribution takes two microphones, two transcriptions and two kit "
                         "checks (one per kit)")
    bands = [_Bands(m, sample_rate) for m in mics]
    out: list[list[Hit]] = [[], []]
    for p in (0, 1):
        q = 1 - p
        other = kits[q]
        for hit in hits[p]:
            weights, gain_db = other.weights_and_gain(voice_group(hit.voice).value)
            own, _ = bands[p].rise(hit.time_s, weights)
            source, _ = bands[q].rise(hit.time_s - other.delay_ms / 1000, weights)
            ratio_db = 10 * np.log10(max(own, 1e-20) / max(source, 1e-20))
            if ratio_db > gain_db + OWN_MARGIN_DB:
                out[p].append(hit)
    return out
