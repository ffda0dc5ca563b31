"""What the bleed canceller learns of the way from the speakers to the microphone.

:class:`WelchResponse` is the song's room response at one length, learned by
frequency-domain least squares over overlapping segments (Welch averages), the clicks a second
regressor beside the song; :class:`CountInClicks` is the clicks' own response, learned where
the count-in's clicks sound alone; :class:`LearnedPath` is what a stream of a take learned (its
averaged spectra, and the earlier take's response it was trying,
:class:`~drumjam.analysis.earlierresponse.EarlierResponse`), for a
stream that takes over mid-take; :class:`RoomResponse` is the response a take applied, small
enough to keep, for the same player's next take (:mod:`drumjam.analysis.bleed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from drumjam.analysis.earlierresponse import EarlierResponse

#: Length of the room response after the round trip learned first, in seconds.
TAPS_S = 0.1
#: Length of the room response learned beside it, applied once it predicts the microphone
#: better (a reverberant room's tail: 0.1 s of a 0.6 s RT60 leaves the song 12 dB down, 0.3 s
#: 21 dB). Its segments are four times as long, so it needs more of the song to learn from.
LONG_TAPS_S = 0.3
#: Room response kept before the measured round trip (its error), in seconds.
PRE_S = 0.003
#: Time over which the response is averaged (older segments weigh less), in seconds.
MEMORY_S = 30.0
#: Song heard before the response is trusted and subtracted, in seconds.
WARMUP_S = 0.4
#: A segment's bins count by the inverse of what the response learned so far leaves of them,
#: that power smoothed over this many Hz (:meth:`WelchResponse.add`; set once, not tuned).
WEIGHT_SMOOTH_HZ = 50.0
#: Mean power per sample below which a microphone is silent (-100 dBFS, under a 16-bit
#: converter's noise).
SILENCE_POWER = 1e-10
#: The clicks' response is regularised by this share of their strongest spectral power, so
#: that it fades out where they do not sound.
CLICK_REG = 1e-4
#: The count-in's response is trusted while the clicks it predicts differ from those the song's
#: response predicts by at most this share of the clicks' power (beyond the song response's
#: own uncertainty, so that it serves while the song's is still being learned).
CLICKS_AGREE = 1.0


@dataclass(frozen=True)
class LearnedPath:
    """What a canceller learned of the way from the speakers to the microphone: a later stream
    of the same set-up (the microphone reconnected mid-song) starts from it, cancelling the song
    at once and the clicks although it never heard them alone.

    Attributes
    ----------
    sample_rate : int
        Of the stream it was learned on, in Hz.
    round_trip_s : float
        The round trip it was learned with.
    song : tuple of numpy.ndarray
        The averaged spectra (:attr:`WelchResponse.spectra`), and last the clicks of the
        count-in.
    song_weights : tuple of float
        Effective number of segments averaged, seconds of song heard, and segments weighted
        (:attr:`WelchResponse.weights`).
    clicks : numpy.ndarray
        The clicks' response learned in the count-in (zeros if they were never heard alone).
    long : tuple of numpy.ndarray
        The spectra of the long response (:data:`LONG_TAPS_S`), in ``song``'s order less the
        count-in's.
    long_weights : tuple of float
        Its segments averaged, seconds of song heard and segments weighted.
    errors : tuple of float
        What the short and the long response left of the microphone (which one is applied).
    own_db : float
        What the take's own response left of the microphone against no cancelling, in dB
        summed over recent segments (above 0: not applied at all).
    trial : EarlierResponse, optional
        An earlier take's response the stream was judging or applying, as it stood (a
        microphone that reconnects carries on with it,
        :meth:`~drumjam.analysis.earlierresponse.EarlierResponse.resumed`).
    """

    sample_rate: int
    round_trip_s: float
    song: tuple[np.ndarray, ...]
    song_weights: tuple[float, float, float]
    clicks: np.ndarray
    long: tuple[np.ndarray, ...]
    long_weights: tuple[float, float, float]
    errors: tuple[float, float]
    own_db: float
    trial: EarlierResponse | None = None

    def applied(self) -> RoomResponse:
        """The song's response this path applied at its end (an earlier take's, at its gain,
        if the take's own never left less; else none, zeros, if the take's own left more of the
        microphone than no cancelling; else the long one if it predicted better), for a
        later take of the same set-up (``earlier`` of
        :class:`~drumjam.analysis.bleed.BleedCanceller`)."""
        rate = self.sample_rate
        if self.trial is not None and self.trial.gain is not None:
            return RoomResponse(rate, self.round_trip_s,
                                (self.trial.gain * self.trial.response).astype(np.float32))
        if self.own_db > 0.0:  # it left more of the microphone than no cancelling
            return RoomResponse(rate, self.round_trip_s,
                                np.zeros(int(round(TAPS_S * rate)), np.float32))
        use_long = 0.0 < self.errors[1] < self.errors[0]
        path = WelchResponse(int(round((LONG_TAPS_S if use_long else TAPS_S) * rate)), rate)
        path.restore(self.long if use_long else self.song[:-1],
                     self.long_weights if use_long else self.song_weights)
        return RoomResponse(rate, self.round_trip_s, path.h.copy())


@dataclass(frozen=True)
class RoomResponse:
    """The way from the speakers to the microphone as a take applied it: what a later take of
    the same player and microphone tries first (small enough to store: 0.1-0.3 s of taps).

    Attributes
    ----------
    sample_rate : int
        In Hz.
    round_trip_s : float
        The round trip it was applied with.
    response : numpy.ndarray
        float32 taps from the round trip less :data:`PRE_S` on.
    """

    sample_rate: int
    round_trip_s: float
    response: np.ndarray


class WelchResponse:
    """The song's response at one length, learned by frequency-domain least squares over
    overlapping segments four times as long (Welch averages of the cross- and auto-spectra),
    the clicks a second regressor beside the song.

    Parameters
    ----------
    taps : int
        Length of the response, in samples.
    sample_rate : int
        In Hz.
    """

    def __init__(self, taps: int, sample_rate: int) -> None:
        self.taps = int(taps)
        self.seg = 1 << int(np.ceil(np.log2(4 * self.taps)))
        self.hop = self.seg // 2
        self.window = np.hanning(self.seg).astype(np.float32)
        bins = self.seg // 2 + 1
        self.sxy = np.zeros(bins, np.complex128)  # song x microphone
        self.sxx = np.zeros(bins)
        self.syy = np.zeros(bins)
        self.scc = np.zeros(bins)  # the clicks, beside the song, over the same segments
        self.ssc = np.zeros(bins, np.complex128)  # song x clicks
        self.syc = np.zeros(bins, np.complex128)  # clicks x microphone
        self.n_eff = 0.0  # effective number of segments averaged
        self.warm_s = 0.0  # song heard so far (segments with reference energy)
        self.forget = float(np.exp(-self.hop / (MEMORY_S * sample_rate)))
        self._hop_s = self.hop / sample_rate
        self.h = np.zeros(self.taps, np.float32)
        self._smooth = np.ones(max(1, int(round(WEIGHT_SMOOTH_HZ * self.seg / sample_rate))))
        self._smooth /= self._smooth.size
        #: A silent segment's windowed power (:data:`SILENCE_POWER` per sample).
        self.silence = SILENCE_POWER * float(np.dot(self.window, self.window))
        self._left = np.zeros(bins)  # what the response left, smoothed, averaged (see add)
        self._left_n = 0.0
        #: The power per bin the drums and noise alone put into ``|H|^2`` (see :meth:`update`).
        self.noise = np.zeros(bins)
        self.next_seg = 0  # start of the next segment to learn from

    @property
    def spectra(self) -> tuple[np.ndarray, ...]:
        """The averaged spectra: song x microphone, song, microphone, clicks, song x clicks,
        clicks x microphone, and what the response left (the weights' reference, :meth:`add`)."""
        return self.sxy, self.sxx, self.syy, self.scc, self.ssc, self.syc, self._left

    @property
    def weights(self) -> tuple[float, float, float]:
        """Effective number of segments averaged, seconds of song heard, and effective number
        of segments weighted."""
        return self.n_eff, self.warm_s, self._left_n

    def restore(self, spectra: tuple[np.ndarray, ...], weights: tuple[float, float, float]) -> None:
        """Start from :attr:`spectra` and :attr:`weights` an earlier stream averaged."""
        (self.sxy, self.sxx, self.syy, self.scc, self.ssc, self.syc,
         self._left) = (a.copy() for a in spectra)
        self.n_eff, self.warm_s, self._left_n = weights
        if self.warm_s >= WARMUP_S:
            self.update()

    def snapshot(self) -> tuple:
        """Where it stands, for :meth:`rewind` (references, not copies: :meth:`add` and
        :meth:`update` replace the arrays, never change them)."""
        return self.spectra, self.weights, self.h, self.noise, self.next_seg

    def rewind(self, snapshot: tuple) -> None:
        """Return to a :meth:`snapshot`: the segments learned since are learned again."""
        spectra, weights, self.h, self.noise, self.next_seg = snapshot
        (self.sxy, self.sxx, self.syy, self.scc, self.ssc, self.syc, self._left) = spectra
        self.n_eff, self.warm_s, self._left_n = weights

    def add(self, spec_x: np.ndarray, spec_y: np.ndarray, spec_c: np.ndarray | None) -> None:
        """Average one more segment's spectra (song, microphone, clicks) and update.

        Once a response is learned, weighted least squares: the drums are this regression's
        noise, and they come and go, so each bin of a segment counts by the inverse of what
        the response learned so far leaves of it (that power smoothed over
        :data:`WEIGHT_SMOOTH_HZ`) against the same averaged over the segments before: a bin
        counts most where the drums leave the song room, and the weights stay near 1 on
        average, so the averages keep their units.
        """
        f = self.forget
        if self.warm_s >= WARMUP_S:
            both = spec_x if spec_c is None else spec_x + spec_c
            left = np.abs(spec_y - np.fft.rfft(self.h, self.seg) * both) ** 2
            power = np.convolve(left, self._smooth, mode="same") + self.silence
            self._left = f * self._left + power
            self._left_n = f * self._left_n + 1.0
            weight = np.sqrt(self._left / self._left_n / power)
            spec_x, spec_y = spec_x * weight, spec_y * weight
            spec_c = None if spec_c is None else spec_c * weight
        self.sxy = f * self.sxy + np.conj(spec_x) * spec_y
        self.sxx = f * self.sxx + np.abs(spec_x) ** 2
        self.syy = f * self.syy + np.abs(spec_y) ** 2
        if spec_c is not None:
            self.scc = f * self.scc + np.abs(spec_c) ** 2
            self.ssc = f * self.ssc + np.conj(spec_x) * spec_c
            self.syc = f * self.syc + np.conj(spec_c) * spec_y
        self.n_eff = f * self.n_eff + 1.0
        self.warm_s += self._hop_s
        if self.warm_s >= WARMUP_S:
            self.update()

    def update(self) -> None:
        """The response (:attr:`h`) and its noise (:attr:`noise`) from the spectra averaged
        so far."""
        response, self.noise = self.response()
        self.h = np.fft.irfft(response, self.seg)[:self.taps].astype(np.float32)

    def response(self) -> tuple[np.ndarray, np.ndarray]:
        """The song's frequency response from the spectra averaged so far, the clicks (if any)
        a second regressor beside it: least squares per bin, then each bin shrunk by the part
        of ``|H|^2`` the drums and noise alone would give (returned too)."""
        sxx = self.sxx + 1e-3 * np.mean(self.sxx) + 1e-20
        scc = self.scc + CLICK_REG * np.max(self.scc) + 1e-20  # clicks only where they sound
        own = sxx - np.abs(self.ssc) ** 2 / scc  # the song's power the clicks do not share
        response = (self.sxy - self.ssc * self.syc / scc) / own
        clicks = (self.syc - np.conj(self.ssc) * response) / scc
        explained = np.real(np.conj(response) * self.sxy + np.conj(clicks) * self.syc)
        # the residual over the song's own power, over the segments averaged (overlapping
        # Hann segments count about half)
        gain2 = np.abs(response) ** 2
        chance = np.maximum(self.syy - explained, 0.0) / own / (0.5 * self.n_eff)
        return response * np.maximum(0.0, 1.0 - chance / (gain2 + 1e-30)), chance


@dataclass
class CountInClicks:
    """The clicks' own response, learned where the microphone hears them alone (the count-in):
    their Welch averages, the response computed from them (regularised by :data:`CLICK_REG`)
    and fixed once the count-in is over.

    Attributes
    ----------
    cross : numpy.ndarray
        The clicks' and the microphone's cross-spectrum, summed over the segments heard.
    power : numpy.ndarray
        The clicks' power spectrum, summed likewise: where they sounded.
    h : numpy.ndarray
        Their response once fixed (:meth:`fix`); zeros before.
    """

    cross: np.ndarray
    power: np.ndarray
    h: np.ndarray

    @classmethod
    def unheard(cls, taps: int, seg: int) -> CountInClicks:
        """Nothing heard yet, for a response of ``taps`` learned on segments of ``seg``."""
        bins = seg // 2 + 1
        return cls(np.zeros(bins, np.complex128), np.zeros(bins), np.zeros(taps, np.float32))

    @property
    def heard(self) -> bool:
        """Whether any segment of clicks was heard."""
        return bool(self.power.any())

    @property
    def fixed(self) -> bool:
        """Whether the response is fixed (the count-in is over, or a stream carried it on)."""
        return bool(self.h.any())

    def add(self, spec_x: np.ndarray, spec_y: np.ndarray) -> None:
        """Average one more segment: the clicks' and the microphone's windowed spectra."""
        self.cross += np.conj(spec_x) * spec_y
        self.power += np.abs(spec_x) ** 2

    def forget(self) -> None:
        """Forget what was heard (it was heard where the clicks no longer are: a slip)."""
        self.cross[:] = 0.0
        self.power[:] = 0.0

    def response(self) -> np.ndarray:
        """The response: fixed, or computed from what was heard so far."""
        if self.heard and not self.fixed:
            seg = 2 * (self.power.size - 1)
            response = self.cross / (self.power + CLICK_REG * np.max(self.power) + 1e-20)
            return np.fft.irfft(response, seg)[:self.h.size].astype(np.float32)
        return self.h

    def fix(self) -> None:
        """Fix the response at what was heard (the count-in is over)."""
        self.h = self.response()

    def agrees(self, song: WelchResponse) -> bool:
        """Whether the clicks this response predicts differ from those the song's response
        predicts by at most :data:`CLICKS_AGREE` of their power, where the count-in's clicks
        sounded, beyond what the song's response is still unsure of (its noise, cut to the
        taps)."""
        ours, songs = np.fft.rfft([self.h, song.h], song.seg)
        weight = self.power
        allowed = (CLICKS_AGREE * float(np.sum(np.abs(songs) ** 2 * weight))
                   + float(np.sum(song.noise * weight)) * song.taps / song.seg)
        return float(np.sum(np.abs(ours - songs) ** 2 * weight)) <= allowed

    def copy(self) -> CountInClicks:
        """A copy to return to (the fixed response is replaced, never changed in place)."""
        return CountInClicks(self.cross.copy(), self.power.copy(), self.h)
