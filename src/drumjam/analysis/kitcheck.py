"""Two acoustic kits in one room: which kit each transcribed hit came from.

Each player has a microphone near their own kit, and each microphone hears both kits. The
**kit check** (each player alone hits each drum a few times) learns, per kit, how the other
microphone hears it: how much later (``delay_ms``) and how much quieter (``gain_db``), from
the rise of energy at each hit's onset in both microphones (:func:`learn_kit`). It also says
how loud the player's microphone is (peak level, clipping) and the input gain that would
bring the hits to a comfortable peak.

During the song each microphone is transcribed on its own, so microphone A finds kit A's hits
and some of kit B's bleed. A hit of microphone A is kept (:func:`own_hit`) when its onset is
louder than kit B's bleed explains: kit B's onset, looked up in microphone B where it arrived
``delay_ms`` earlier, times B's ``gain_db``, by :data:`OWN_MARGIN_DB` (a hit of both kits at
once stays with both). Onsets are measured in a few frequency bands weighted by where the
check found each drum's energy, so a kick's bleed is not taken for the hi-hat played with it.

:class:`PairAttribution` decides hit by hit as both microphones stream, from a short ring of
each one's audio: a hit is decided once both streams have passed it by :func:`decide_after` samples.
:func:`attribute` runs whole recordings through it, so offline and live attribution are one
path.
"""

from __future__ import annotations

from collections import deque
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KitSignature:
        """The signature from :meth:`to_dict`'s form (as stored).

        Raises
        ------
        InputError
            If a field is missing or not a number.
        """
        try:
            groups = {str(g): (tuple(float(w) for w in v["band_weights"]), float(v["gain_db"]))
                      for g, v in dict(data.get("groups", {})).items()}
            return cls(delay_ms=float(data["delay_ms"]), gain_db=float(data["gain_db"]),
                       spread_db=float(data["spread_db"]), peak_dbfs=float(data["peak_dbfs"]),
                       input_gain_db=float(data["input_gain_db"]), clipped=bool(data["clipped"]),
                       hits=int(data["hits"]), groups=groups)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"a stored room check is unreadable ({exc!r}); take the room check "
                             "again") from exc

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
    for onset rises at any time and with any band weights.

    Frame ``g`` covers samples ``32 g - 256`` to ``32 g + 256`` of the stream. A whole
    recording (``start`` None) is taken as silent before and after it; an excerpt starting at
    stream sample ``start`` gives the same rises as the whole stream away from its edges.
    """

    def __init__(self, x: np.ndarray, sample_rate: int, start: int | None = None) -> None:
        a = np.asarray(x, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(a)):
            raise InputError("the microphone audio holds NaN or infinite samples")
        self.sr = sample_rate
        if start is None:
            a = np.concatenate([np.zeros(_FRAME // 2, np.float32), a, np.zeros(_FRAME, np.float32)])
            start = -(_FRAME // 2)
        self.first = -((-(start + _FRAME // 2)) // _HOP)  # the first whole frame
        a = a[self.first * _HOP - _FRAME // 2 - start:]
        n = max(0, (a.size - _FRAME) // _HOP + 1)
        frames = np.lib.stride_tricks.sliding_window_view(a, _FRAME)[::_HOP][:n] if n else a[:0]
        window = np.hanning(_FRAME).astype(np.float32)
        band = np.searchsorted(BAND_EDGES_HZ, np.fft.rfftfreq(_FRAME, 1.0 / sample_rate),
                               side="right") - 1
        onehot = (band[:, None] == np.arange(len(BAND_EDGES_HZ))[None, :]).astype(np.float32)
        energy = np.zeros((n, len(BAND_EDGES_HZ)))
        for i in range(0, n, _CHUNK_FRAMES):  # in chunks: a few MB at a time
            power = np.abs(np.fft.rfft(frames[i:i + _CHUNK_FRAMES] * window, axis=1)) ** 2
            energy[i:i + _CHUNK_FRAMES] = power.astype(np.float32) @ onehot
        self.cum = np.concatenate([np.zeros((1, energy.shape[1])), np.cumsum(energy, 0)])
        self.w = max(1, int(round(RISE_S * sample_rate / _HOP)))

    def rises(self, t_s: float, search_s: float) -> np.ndarray:
        """Rise of energy per band (window after minus window before) at every frame within
        ``search_s`` of ``t_s``: (frames, bands)."""
        centre = int(round(t_s * self.sr / _HOP)) - self.first
        reach = max(0, int(round(search_s * self.sr / _HOP)))
        at = np.clip(np.arange(centre - reach, centre + reach + 1), self.w,
                     max(self.w, self.cum.shape[0] - 1 - self.w))
        if self.cum.shape[0] <= 2 * self.w:  # shorter than one rise: nothing heard
            return np.zeros((at.size, self.cum.shape[1]))
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


def decide_after(sample_rate: int) -> int:
    """Samples both microphones must have passed a hit by before it is decided: the rise after
    it, the search around it and half an analysis frame (27 ms at 48 kHz)."""
    return int(np.ceil((SEARCH_S + RISE_S) * sample_rate)) + _FRAME // 2 + 2 * _HOP


#: A partner microphone this far behind (stalled) is not waited for: its missing audio counts
#: as silence, and the hit is kept. Two devices streaming over a network drift apart by their
#: network's delays; this is far more than that.
MAX_LAG_S = 10.0
#: A partner microphone that has not started is waited for this long.
START_WAIT_S = 1.0
#: Audio each microphone's ring holds at least: a partner's hits may wait for it up to
#: :data:`MAX_LAG_S` (its buffer holds twice that: 4.6 MB per microphone at 48 kHz).
RING_S = MAX_LAG_S + 2.0


def own_hit(hit: Hit, own: _Bands, partner: _Bands, partner_kit: KitSignature) -> bool:
    """Whether a hit of one microphone is its own kit's: its onset louder, by
    :data:`OWN_MARGIN_DB` more than the partner kit's gain, than the partner kit's onset in the
    partner microphone, where it arrived ``partner_kit.delay_ms`` earlier.

    The onsets are weighed in the bands of the drum the hit was named, and again in those of
    the partner kit's drum whose band shares are nearest to the partner microphone's onset
    (the transcription may name a distant drum's bleed wrongly); the hit is the partner's bleed
    if either explains it.

    Parameters
    ----------
    hit : Hit
        The hit as the microphone's transcription found it (seconds on the stream's clock).
    own, partner : _Bands
        Band energies of the microphone that heard it and of the other one around the hit.
    partner_kit : KitSignature
        The other kit's signature (how the other kit sounds in this microphone).
    """
    at_s = hit.time_s - partner_kit.delay_ms / 1000
    groups = {voice_group(hit.voice).value}
    flat = np.ones(len(BAND_EDGES_HZ))
    strength, peak_s = partner.rise(at_s, flat)
    if strength > 0 and partner_kit.groups:
        shares = np.maximum(-partner.rises(peak_s, 0.0)[0], 0.0)
        shares /= max(shares.sum(), 1e-30)
        groups.add(min(partner_kit.groups,
                       key=lambda g: float(np.sum(np.abs(np.asarray(partner_kit.groups[g][0]) - shares)))))
    for group in sorted(groups):
        weights, gain_db = partner_kit.weights_and_gain(group)
        e_own, _ = own.rise(hit.time_s, weights)
        source, _ = partner.rise(at_s, weights)
        if 10 * np.log10(max(e_own, 1e-20) / max(source, 1e-20)) <= gain_db + OWN_MARGIN_DB:
            return False
    return True


class _Ring:
    """The latest samples of a stream, by stream sample index (zeros where nothing was heard):
    at least ``keep`` of them, in a buffer of twice that, shifted once every ``keep`` samples."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.buf = np.zeros(2 * keep, np.float32)
        self.start = 0  # stream sample of buf[0]
        self.n = 0
        self.started = False

    @property
    def end(self) -> int:
        return self.start + self.n

    def push(self, start: int, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float32).reshape(-1)
        if not self.started:
            self.start, self.started = start, True
        if start > self.end:  # a gap: silence
            x = np.concatenate([np.zeros(start - self.end, np.float32), x])
        elif start < self.end:  # an overlap: dropped
            x = x[self.end - start:]
        if x.size >= self.keep:  # longer than the ring: its last ``keep`` samples
            self.start, self.n = self.end + x.size - self.keep, self.keep
            self.buf[:self.keep] = x[-self.keep:]
            return
        if self.n + x.size > self.buf.size:
            cut = self.n + x.size - self.keep
            kept = self.buf[cut:self.n].copy()
            self.buf[:kept.size] = kept
            self.start, self.n = self.start + cut, kept.size
        self.buf[self.n:self.n + x.size] = x
        self.n += x.size

    def excerpt(self, lo: int, hi: int) -> np.ndarray:
        out = np.zeros(max(0, hi - lo), np.float32)
        a, b = max(lo, self.start), min(hi, self.end)
        if b > a:
            out[a - lo:b - lo] = self.buf[a - self.start:b - self.start]
        return out


class PairAttribution:
    """Attribution of two streaming microphones' hits to their kits, hit by hit.

    Each microphone's audio goes in with :meth:`feed` (stream samples on one clock), each of
    its transcribed hits with :meth:`add`; :meth:`decide` returns the hits both streams have
    passed by :func:`decide_after` (or the partner lags more than :data:`MAX_LAG_S`, has not
    started after :data:`START_WAIT_S`, or has ended), each with whether it is its
    microphone's own kit's (:func:`own_hit`).

    Parameters
    ----------
    kits : sequence of two KitSignature or None
        Kit A's (own microphone A, other B) and kit B's, from :func:`learn_kit`; None for a
        microphone that has not started (:meth:`start` gives it): the other's hits are kept.
    sample_rate : int
        Of both microphones, in Hz.
    """

    def __init__(self, kits: Sequence[KitSignature | None], *, sample_rate: int) -> None:
        if len(kits) != 2:
            raise InputError("attribution takes two kit checks, one per kit")
        self.kits = list(kits)
        self.sr = int(sample_rate)
        self._rings = [_Ring(int(RING_S * self.sr)) for _ in range(2)]
        self._ended = [False, False]
        self._waiting: list[deque[Hit]] = [deque(), deque()]
        self._reach = decide_after(self.sr)

    def start(self, mic: int, kit: KitSignature) -> None:
        """Microphone ``mic`` (re)starts, its kit sounding as ``kit`` says in the other one."""
        self.kits[mic] = kit
        self._rings[mic] = _Ring(int(RING_S * self.sr))
        self._ended[mic] = False

    def feed(self, mic: int, start_sample: int, samples: np.ndarray) -> None:
        """Microphone ``mic``'s samples from stream sample ``start_sample`` on."""
        self._rings[mic].push(int(start_sample), samples)

    def add(self, mic: int, hit: Hit) -> None:
        """A hit microphone ``mic``'s transcription found (seconds = stream sample / rate)."""
        self._waiting[mic].append(hit)

    def end(self, mic: int) -> None:
        """Microphone ``mic``'s stream ended: it is silent from now on."""
        self._ended[mic] = True

    def _passed(self, mic: int, sample: int, own_end: int) -> bool:
        ring = self._rings[mic]
        wait_s = MAX_LAG_S if ring.started else START_WAIT_S
        return (self._ended[mic] or (ring.started and ring.end >= sample)
                or own_end - sample > wait_s * self.sr)

    def decide(self) -> list[tuple[int, Hit, bool]]:
        """The hits now decided: (microphone, hit, whether it is that microphone's kit's)."""
        out = []
        for p in (0, 1):
            q = 1 - p
            own_end = self._rings[p].end if not self._ended[p] else 2**62
            partner = self.kits[q]
            delay = 0 if partner is None else int(round(partner.delay_ms / 1000 * self.sr))
            while self._waiting[p]:
                hit = self._waiting[p][0]
                at = int(round(hit.time_s * self.sr))
                if not (self._passed(p, at + self._reach, own_end)
                        and self._passed(q, at - delay + self._reach, own_end)):
                    break
                self._waiting[p].popleft()
                if partner is None:
                    out.append((p, hit, True))
                    continue
                bands = [_Bands(self._rings[m].excerpt(lo - 2 * self._reach, lo + self._reach),
                                self.sr, start=lo - 2 * self._reach)
                         for m, lo in ((p, at), (q, at - delay))]
                out.append((p, hit, own_hit(hit, bands[0], bands[1], partner)))
        return out


def attribute(mics: Sequence[np.ndarray], hits: Sequence[Sequence[Hit]],
              kits: Sequence[KitSignature], *, sample_rate: int) -> list[list[Hit]]:
    """Each kit's hits: those of its own microphone that its bleed partner does not explain
    (two recordings streamed through :class:`PairAttribution` a second at a time).

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
        Kit A's hits and kit B's hits, in time order.
    """
    if not len(mics) == len(hits) == len(kits) == 2:
        raise InputError("attribution takes two microphones, two transcriptions and two kit "
                         "checks (one per kit)")
    stage = PairAttribution(kits, sample_rate=sample_rate)
    todo = [deque(sorted(h, key=lambda hit: hit.time_s)) for h in hits]
    out: list[list[Hit]] = [[], []]
    n = max(len(m) for m in mics)
    for start in range(0, n, sample_rate):
        for m in (0, 1):
            stage.feed(m, start, np.asarray(mics[m][start:start + sample_rate]))
            while todo[m] and todo[m][0].time_s * sample_rate < start + sample_rate:
                stage.add(m, todo[m].popleft())
        for m, hit, kept in stage.decide():
            if kept:
                out[m].append(hit)
    for m in (0, 1):
        stage.end(m)
        for hit in todo[m]:
            stage.add(m, hit)
    for m, hit, kept in stage.decide():
        if kept:
            out[m].append(hit)
    return out
