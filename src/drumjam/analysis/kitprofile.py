"""The kit check of one kit: drumjam learns how a player's drums sound in their microphone.

The player hits each drum of their kit a few times when asked (one prompt per drum, one after
the other). :func:`check_kit` finds the strokes of each prompt with the transcription network
and learns a :class:`KitProfile`:

- the **input gain** that brings the loudest hit to :data:`PEAK_DBFS` (and whether the
  microphone clipped, when only turning it down helps): the network hears a take alike
  whose loudest stroke lies between -6 and +10 dBFS and loses soft strokes below -12. A noisy
  microphone is raised only while its noise stays below :data:`NOISE_CEILING_DBFS`, and at
  least to :data:`TARGET_PEAK_DBFS`: louder noise costs more extra hits than it gains;
- an onset **threshold** per network class: lowered where the kit's own strokes answer the
  class weakly (halfway down to the strongest response the class gives to the kit's other
  drums), raised above that response for a class none of the kit's drums is heard as;
- which drum each **network class** stands for with this kit (a floor tom the network calls
  the mid tom is the floor tom) and a **template** per drum: the shape of the spectrum its
  strokes add at their onset, which decides between the drums one class stands for (a kit whose
  high tom the network takes for a closed hi-hat still has both told apart). A label that is
  itself a drum of the kit is kept unless another drum's template is clearly nearer
  (:data:`TEMPLATE_MARGIN`): in a groove, strokes sound together and softer than in the check;
- which drums it **cannot tell apart**: the pairs it mistook for each other when each check
  stroke was classified by the rest of the check (leave one out);
- what each drum adds at its onset up to 20 kHz and how loud its strokes were (its
  **spectrum**): a note due together with another drum's stroke is listened for under it
  (:mod:`drumjam.analysis.masked`).

:class:`KitTranscriber` is a :class:`~drumjam.analysis.transcribe.DrumTranscriber` adapted to
the profile (gain, thresholds, classes and templates), fed the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import soxr

from drumjam.analysis import drumnet
from drumjam.analysis.kitcheck import CLIP_LEVEL, TARGET_PEAK_DBFS
from drumjam.analysis.masked import WINDOW_S, DrumSpectrum, UnderListener, added_power, learn_spectra
from drumjam.analysis.transcribe import DrumTranscriber
from drumjam.errors import InputError
from drumjam.model import Hit, Voice, parse_voice

#: Strokes of one drum the check needs to learn it (asked: four or more).
MIN_STROKES = 2
#: Longest kit check taken, in seconds.
MAX_CHECK_S = 120.0
#: Where the gain brings the check's loudest hit (digital full scale: the transcription works
#: on floating-point samples, and a song's strokes a little louder than the check's are heard
#: alike).
PEAK_DBFS = 0.0
#: The microphone's noise (the quietest 50 ms of the check, RMS) is raised no higher than this.
NOISE_CEILING_DBFS = -60.0
NOISE_WINDOW_S = 0.05
NOISE_QUANTILE = 0.1
#: Most gain applied (a very quiet microphone), and most cut, in dB.
GAIN_RANGE_DB = (-24.0, 30.0)
#: A stroke is a peak of the highest onset probability of all classes, at least this high.
STROKE_FLOOR = 0.2
#: Strokes of one prompt are at least this far apart.
MIN_STROKE_GAP_S = 0.06
#: One drum mistaken for another on this share of its check strokes: they cannot be told apart.
CONFUSED_SHARE = 0.25
#: Thresholds stay within these bounds.
THRESHOLD_RANGE = (0.05, 0.95)
#: Template: the spectrum added over this window from just before the onset, in log bands.
TEMPLATE_S = WINDOW_S
TEMPLATE_EDGES_HZ = tuple(float(f) for f in np.geomspace(40.0, 16000.0, 25))
#: Another drum's template must be this much nearer (cosine) than the label's own to win.
TEMPLATE_MARGIN = 0.3
#: Two hits of one drum closer than this are one stroke (two classes that name the same drum).
SAME_STROKE_S = 0.03


@dataclass(frozen=True)
class KitProfile:
    """What the kit check learned (JSON-ready through :meth:`to_dict` / :meth:`from_dict`).

    Attributes
    ----------
    voices : tuple of str
        The drums checked (the kit).
    input_gain_db : float
        Gain applied to the microphone before transcription.
    peak_dbfs : float
        Loudest sample of the check, before the gain.
    clipped : bool
        The microphone clipped during the check.
    thresholds : dict
        Onset threshold per network class (only those that differ from the usual).
    classes : dict
        Per network class, the drums of this kit it answered for in the check.
    templates : dict
        Per drum, its onset spectrum's shape (unit vector over :data:`TEMPLATE_EDGES_HZ` bands).
    confused : tuple of (str, str)
        Pairs of drums the check could not tell apart.
    strokes : dict
        Strokes heard per drum.
    spectra : dict
        Per drum, what its strokes add at their onset up to 20 kHz and how loud they were:
        a due drum played together with another is heard by them
        (:mod:`drumjam.analysis.masked`). Empty in profiles stored before they were learned.
    """

    voices: tuple[str, ...]
    input_gain_db: float
    peak_dbfs: float
    clipped: bool
    thresholds: dict[str, float] = field(default_factory=dict)
    classes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    templates: dict[str, tuple[float, ...]] = field(default_factory=dict)
    confused: tuple[tuple[str, str], ...] = ()
    strokes: dict[str, int] = field(default_factory=dict)
    spectra: dict[str, DrumSpectrum] = field(default_factory=dict)

    @property
    def not_heard(self) -> tuple[str, ...]:
        """Drums the check asked for but heard too few strokes of."""
        return tuple(v for v in self.voices if self.strokes.get(v, 0) < MIN_STROKES)

    def messages(self) -> list[str]:
        """What to tell the player about the check."""
        out = []
        if self.clipped:
            out.append("the microphone clipped: turn its input gain down (or move it away from the "
                       "drums) and check the kit again")
        if self.not_heard:
            drums = ", ".join(_said(v) for v in self.not_heard)
            out.append(f"too few hits were heard on: {drums}; "
                       "hit each of them harder when asked and check again")
        for a, b in self.confused:
            out.append(f"drumjam cannot tell the {_said(a)} and the {_said(b)} apart")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"voices": list(self.voices), "input_gain_db": round(self.input_gain_db, 2),
                "peak_dbfs": round(self.peak_dbfs, 2), "clipped": self.clipped,
                "thresholds": {k: round(v, 4) for k, v in self.thresholds.items()},
                "classes": {k: list(v) for k, v in self.classes.items()},
                "templates": {k: [round(x, 5) for x in v] for k, v in self.templates.items()},
                "confused": [list(p) for p in self.confused], "strokes": dict(self.strokes),
                "spectra": {k: v.to_list() for k, v in self.spectra.items()},
                "not_heard": list(self.not_heard), "messages": self.messages()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KitProfile:
        """A profile from :meth:`to_dict`'s form (as stored).

        Raises
        ------
        InputError
            If a field is missing or of the wrong kind.
        """
        try:
            voices = tuple(parse_voice(v).value for v in data["voices"])
            profile = cls(
                voices=voices, input_gain_db=float(data["input_gain_db"]),
                peak_dbfs=float(data["peak_dbfs"]), clipped=bool(data["clipped"]),
                thresholds={parse_voice(k).value: float(v) for k, v in data["thresholds"].items()},
                classes={parse_voice(k).value: tuple(parse_voice(x).value for x in v)
                         for k, v in data["classes"].items()},
                templates={parse_voice(k).value: tuple(float(x) for x in v)
                           for k, v in data["templates"].items()},
                confused=tuple((parse_voice(a).value, parse_voice(b).value)
                               for a, b in data["confused"]),
                strokes={parse_voice(k).value: int(v) for k, v in data["strokes"].items()},
                spectra={parse_voice(k).value: DrumSpectrum.from_list(v)
                         for k, v in data.get("spectra", {}).items()})
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise InputError(f"the stored kit profile cannot be read ({err!r}); "
                             "check the kit again") from None
        if any(len(t) != len(TEMPLATE_EDGES_HZ) - 1 for t in profile.templates.values()):
            raise InputError("the stored kit profile's templates have the wrong size; "
                             "check the kit again")
        return profile


def _said(voice: str) -> str:
    return voice.replace("_", " ").replace("hihat", "hi-hat")


def onset_signature(x: np.ndarray, t_s: float, *, sample_rate: int) -> np.ndarray | None:
    """The shape of the spectrum a stroke adds at ``t_s``: band energies over
    :data:`TEMPLATE_S` after the onset minus those just before
    (:func:`~drumjam.analysis.masked.added_power`), in dB, mean removed, as a unit vector; None
    where the audio does not reach (or nothing was added)."""
    added = added_power(x, t_s, sample_rate=sample_rate, edges_hz=TEMPLATE_EDGES_HZ)
    if added is None or added.max() <= 0:
        return None
    s = 10 * np.log10(added + 1e-6 * added.max())
    s -= s.mean()
    return s / max(float(np.linalg.norm(s)), 1e-12)


@dataclass(frozen=True)
class _Stroke:
    voice: str  # the drum asked for
    label: str  # the network's class for it
    activation: np.ndarray  # onset probability per class
    signature: np.ndarray
    time_s: float  # onset
    velocity: float  # the network's, 1-127


def _activations(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Onset probabilities and velocities ``(frames, classes)`` of a whole recording, frame
    ``i`` at ``i/FPS``."""
    w = drumnet.bundled_weights()
    y = soxr.resample(x.astype(np.float32), sample_rate, drumnet.SAMPLE_RATE)
    feats = drumnet.features(y, w["mel_basis"])
    pad = np.zeros((drumnet.CONTEXT_PAST_FRAMES + drumnet.LOOKAHEAD_FRAMES, drumnet.N_MELS),
                   np.float32)
    feats = np.concatenate([pad[:drumnet.CONTEXT_PAST_FRAMES], feats,
                            pad[drumnet.CONTEXT_PAST_FRAMES:]])
    return drumnet.forward(feats, w)


def _strokes(x: np.ndarray, act: np.ndarray, velocity: np.ndarray, voice: str, start_s: float,
             end_s: float, sample_rate: int) -> list[_Stroke]:
    """The strokes heard while the player was asked for ``voice``."""
    offset_s = drumnet.bundled_weights()["offset_s"]
    strength = act.max(axis=1)
    lo, hi = max(int(start_s * drumnet.FPS), 3), min(int(end_s * drumnet.FPS), act.shape[0] - 3)
    gap = max(1, int(round(MIN_STROKE_GAP_S * drumnet.FPS)))
    out: list[_Stroke] = []
    last = -gap
    for r in range(lo, hi):
        around = strength[max(r - gap, 0):r + gap + 1]
        if strength[r] < STROKE_FLOOR or strength[r] < around.max() or r - last < gap:
            continue
        a = act[r - 1:r + 2].max(axis=0)
        c = int(np.argmax(a))
        t_s = r / drumnet.FPS - float(offset_s[c])
        sig = onset_signature(x, t_s, sample_rate=sample_rate)
        if sig is not None:
            out.append(_Stroke(voice, drumnet.CLASSES[c].value, a, sig, t_s,
                               float(np.clip(127 * velocity[r, c], 1, 127))))
            last = r
    return out


def check_kit(audio: np.ndarray, prompts: Sequence[tuple[Voice | str, float, float]], *,
              sample_rate: int) -> KitProfile:
    """Learn a kit from a check: the player hit each drum a few times when asked.

    Parameters
    ----------
    audio : numpy.ndarray
        The microphone during the check, mono.
    prompts : sequence of (voice, start_s, end_s)
        Which drum was asked for when (seconds from the recording's start); the drums must be
        ones the transcriber knows (:data:`drumjam.analysis.drumnet.CLASSES`).
    sample_rate : int
        Of the audio, in Hz.

    Returns
    -------
    KitProfile

    Raises
    ------
    InputError
        Silence, NaN, a check longer than :data:`MAX_CHECK_S`, a drum asked for twice or one
        the transcriber does not know, or fewer than two drums heard.
    """
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if not 8000 <= int(sample_rate) <= 192000:
        raise InputError(f"sample rate {sample_rate} Hz is out of range; use 8000-192000 Hz")
    if x.size > MAX_CHECK_S * sample_rate:
        raise InputError(f"the kit check lasts {x.size / sample_rate:.0f} s; record at most "
                         f"{MAX_CHECK_S:.0f} s")
    if not np.all(np.isfinite(x)):
        raise InputError("the kit check's audio holds NaN or infinite samples")
    known = {v.value for v in drumnet.CLASSES}
    voices = [parse_voice(v).value for v, _, _ in prompts]
    if len(set(voices)) != len(voices) or not set(voices) <= known:
        raise InputError(f"the kit check asks for {voices}: ask for each drum once, among "
                         f"{', '.join(sorted(known))}")
    peak = float(np.max(np.abs(x), initial=0.0))
    peak_dbfs = 20 * np.log10(max(peak, 1e-9))
    if peak_dbfs < -70:
        raise InputError("the microphone heard nothing during the kit check: check that it is on "
                         "and not muted, then check the kit again")
    clipped = peak >= CLIP_LEVEL
    gain_db = 0.0 if clipped else _gain_db(x, peak_dbfs, sample_rate)
    x = (x * 10 ** (gain_db / 20)).astype(np.float32)
    act, velocity = _activations(x, sample_rate)
    strokes = [s for v, (_, a, b) in zip(voices, prompts)
               for s in _strokes(x, act, velocity, v, float(a), float(b), sample_rate)]
    counts = {v: sum(s.voice == v for s in strokes) for v in voices}
    heard = [v for v in voices if counts[v] >= MIN_STROKES]
    if len(heard) < 2:
        raise InputError(f"the kit check heard too few hits ({counts}); hit each drum a few times "
                         "when asked, loud enough, and check again")
    strokes = [s for s in strokes if s.voice in heard]
    classes: dict[str, tuple[str, ...]] = {}
    for s in strokes:
        classes[s.label] = tuple(sorted(set(classes.get(s.label, ())) | {s.voice}))
    templates = {v: _template([s.signature for s in strokes if s.voice == v]) for v in heard}
    return KitProfile(
        voices=tuple(voices), input_gain_db=gain_db, peak_dbfs=float(peak_dbfs),
        clipped=bool(clipped),
        thresholds=_thresholds(strokes, classes), classes=classes,
        templates={v: tuple(float(a) for a in t) for v, t in templates.items()},
        confused=_confused(strokes, heard), strokes=counts,
        spectra=learn_spectra(x, [(s.voice, s.time_s, s.velocity) for s in strokes],
                              sample_rate=sample_rate))


def _gain_db(x: np.ndarray, peak_dbfs: float, sample_rate: int) -> float:
    """The input gain: the loudest hit to :data:`PEAK_DBFS`, the noise no higher than
    :data:`NOISE_CEILING_DBFS`, but the loudest hit at least to :data:`TARGET_PEAK_DBFS`."""
    n = max(1, int(NOISE_WINDOW_S * sample_rate))
    chunks = x[:x.size // n * n].reshape(-1, n) if x.size >= n else x.reshape(1, -1)
    rms = np.sqrt(np.mean(np.square(chunks), axis=1))
    noise_dbfs = 20 * np.log10(max(float(np.quantile(rms, NOISE_QUANTILE)), 1e-12))
    gain = max(min(PEAK_DBFS - peak_dbfs, NOISE_CEILING_DBFS - noise_dbfs),
               TARGET_PEAK_DBFS - peak_dbfs)
    return float(np.clip(gain, *GAIN_RANGE_DB))


def _template(signatures: Sequence[np.ndarray]) -> np.ndarray:
    t = np.mean(signatures, axis=0)
    return t / max(float(np.linalg.norm(t)), 1e-12)


def _thresholds(strokes: list[_Stroke], classes: dict[str, tuple[str, ...]]) -> dict[str, float]:
    """Per class: the usual threshold, lowered to halfway between its own strokes' weakest
    probability and its strongest response to the kit's other drums where that is lower (a
    threshold above the usual would lose soft strokes, which the check does not play); for a
    class no stroke was labelled with, raised just above its response to the kit's drums."""
    default = drumnet.bundled_weights()["threshold"]
    out = {}
    for c, voice in enumerate(drumnet.CLASSES):
        mine = classes.get(voice.value, ())
        own = [s.activation[c] for s in strokes if s.label == voice.value]
        cross = [s.activation[c] for s in strokes if s.voice not in mine]
        hi = max(cross, default=0.0)
        if own and hi < min(own):
            thr = min(default[c], (min(own) + hi) / 2)
        elif not own and hi >= default[c]:
            thr = hi + 0.05
        else:
            continue
        out[voice.value] = float(np.clip(thr, *THRESHOLD_RANGE))
    return out


def _classify(label: str, signature: np.ndarray, classes: dict[str, tuple[str, ...]],
              templates: dict[str, np.ndarray],
              confused: Sequence[tuple[str, str]] = ()) -> str:
    """The drum of a hit the network labelled ``label``.

    The candidates are the drums the class stood for in the check, and the label itself when
    it is a drum of the kit (in a groove the network may hear it right where the check did not);
    a class the check never heard that is no drum of the kit stands for the whole kit. One
    candidate is the answer; of several, the nearest template, but the label is kept unless
    another drum's template is nearer by :data:`TEMPLATE_MARGIN` and the check told the two
    apart.
    """
    candidates = set(classes.get(label, ()))
    if label in templates:
        candidates.add(label)
    elif not candidates:
        candidates = set(templates)
    sim = {v: float(signature @ templates[v]) for v in candidates if v in templates}
    if len(sim) <= 1:
        return next(iter(sim), label) if len(candidates) <= 1 else label
    best = max(sim, key=sim.__getitem__)
    if label in sim and best != label and (sim[best] - sim[label] < TEMPLATE_MARGIN
                                           or tuple(sorted((best, label))) in confused):
        return label
    return best


def _confused(strokes: list[_Stroke], voices: list[str]) -> tuple[tuple[str, str], ...]:
    """Pairs of drums mistaken for each other when each stroke is classified by the others."""
    mistaken: dict[tuple[str, str], int] = {}
    for i, s in enumerate(strokes):
        rest = strokes[:i] + strokes[i + 1:]
        classes: dict[str, tuple[str, ...]] = {}
        for o in rest:
            classes[o.label] = tuple(sorted(set(classes.get(o.label, ())) | {o.voice}))
        templates = {v: _template([o.signature for o in rest if o.voice == v]) for v in voices
                     if any(o.voice == v for o in rest)}
        got = _classify(s.label, s.signature, classes, templates)
        if got != s.voice:
            mistaken[(s.voice, got)] = mistaken.get((s.voice, got), 0) + 1
    counts = {v: sum(s.voice == v for s in strokes) for v in voices}
    pairs = {tuple(sorted(k)) for k, n in mistaken.items() if n >= CONFUSED_SHARE * counts[k[0]]}
    return tuple(sorted(pairs))


class KitTranscriber:
    """Streaming transcription adapted to a checked kit: the profile's gain before the
    network, its thresholds, and every hit given the drum of the kit it stands for.

    Fed like :class:`~drumjam.analysis.transcribe.DrumTranscriber` (``process`` blocks, then
    ``flush``); hits come :data:`TEMPLATE_S` later at most, once the audio after their onset
    has arrived.

    Parameters
    ----------
    profile : KitProfile
        From :func:`check_kit` (or :meth:`KitProfile.from_dict`).
    sample_rate : int
        Of the audio fed, in Hz.
    expected : sequence of (float, Voice or str), optional
        Notes due (see :class:`~drumjam.analysis.transcribe.DrumTranscriber`): heard at a
        lower threshold where their drum sounds alone, and listened for under other drums'
        strokes with the profile's spectra (:class:`~drumjam.analysis.masked.UnderListener`).
    expected_late : callable, optional
        How many seconds later than given the notes due around second ``t`` are heard (see
        :class:`~drumjam.analysis.transcribe.DrumTranscriber`).
    """

    def __init__(self, profile: KitProfile, *, sample_rate: int,
                 expected: Iterable[tuple[float, Voice | str]] = (),
                 expected_late: Callable[[float], float] | None = None) -> None:
        expected = tuple(expected)
        w = drumnet.bundled_weights()
        thr = w["threshold"].copy()
        for voice, value in profile.thresholds.items():
            thr[drumnet.CLASSES.index(Voice(voice))] = value
        self._tr = DrumTranscriber(sample_rate=sample_rate, weights={**w, "threshold": thr},
                                   expected=expected, expected_late=expected_late)
        self.sample_rate = int(sample_rate)
        self._gain = np.float32(10 ** (profile.input_gain_db / 20))
        self._classes = dict(profile.classes)
        self._templates = {v: np.asarray(t) for v, t in profile.templates.items()}
        self._confused = profile.confused
        self._keep = int(2.0 * self.sample_rate)  # audio kept for the templates
        self._audio = np.zeros(0, np.float32)
        self._audio_start = 0  # sample index of self._audio[0]
        self._pending: list[Hit] = []
        self._last: dict[str, float] = {}
        self._under = (UnderListener(expected, profile.spectra, sample_rate=self.sample_rate,
                                     late=expected_late)
                       if expected and profile.spectra else None)

    def process(self, block: np.ndarray) -> list[Hit]:
        """Feed audio; the hits that became final."""
        x = np.asarray(block, dtype=np.float32).reshape(-1) * self._gain
        self._audio = np.concatenate([self._audio, x])
        hits = self._tr.process(x)
        return self._release(hits, final=False)

    def flush(self) -> list[Hit]:
        """End of the audio: the last hits."""
        hits = self._tr.flush()
        self._audio = np.concatenate([self._audio, np.zeros(int(TEMPLATE_S * self.sample_rate) + 1,
                                                            np.float32)])
        return self._release(hits, final=True)

    def _release(self, hits: list[Hit], *, final: bool) -> list[Hit]:
        self._pending += hits
        end_s = (self._audio_start + self._audio.size) / self.sample_rate
        ready = [h for h in self._pending if final or h.time_s + TEMPLATE_S <= end_s]
        self._pending = [h for h in self._pending if h not in ready]
        out = []
        for h in ready:
            voice = self._voice(h)
            if h.time_s - self._last.get(voice, -1.0) < SAME_STROKE_S:
                continue  # two classes named one stroke of one drum
            self._last[voice] = h.time_s
            out.append(Hit(h.time_s, voice, h.velocity, h.hihat_openness))
        if self._under is not None:
            self._under.heard(out)
            start_s = self._audio_start / self.sample_rate
            complete_s = min([self._tr.decided_s, end_s - TEMPLATE_S]
                             + [h.time_s for h in self._pending])
            out = sorted(out + self._under.listen(self._audio, start_s, complete_s),
                         key=lambda h: h.time_s)
        drop = self._audio.size - self._keep
        if drop > 0:
            self._audio = self._audio[drop:]
            self._audio_start += drop
        return out

    def _voice(self, hit: Hit) -> str:
        if not self._templates:
            return hit.voice.value
        sig = onset_signature(self._audio, hit.time_s - self._audio_start / self.sample_rate,
                              sample_rate=self.sample_rate)
        if sig is None:
            candidates = self._classes.get(hit.voice.value, ())
            return candidates[0] if len(candidates) == 1 else hit.voice.value
        return _classify(hit.voice.value, sig, self._classes, self._templates, self._confused)
