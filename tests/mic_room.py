"""A simulated room for microphone tests and benchmarks: impulse responses, delays, noise,
mixes, and two kits' duet in one room (:func:`duet_in_room`)."""

from __future__ import annotations

import numpy as np

SPEED_OF_SOUND_M_S = 343.0


def room_ir(*, sample_rate: int, distance_m: float, rt60_s: float = 0.3,
            direct_to_reverb_db: float = 3.0, seed: int = 0) -> np.ndarray:
    """An impulse response: the direct sound after ``distance_m`` of flight (1/r loudness)
    and a diffuse tail from 3 ms after it, decaying by 60 dB in ``rt60_s``, whose energy is
    ``direct_to_reverb_db`` below the direct sound's."""
    rng = np.random.default_rng(seed)
    delay = distance_m / SPEED_OF_SOUND_M_S * sample_rate
    n = int(delay + rt60_s * sample_rate) + 8
    ir = np.zeros(n)
    # the direct sound at a fractional delay (a sinc cut to 16 samples each side)
    k = np.arange(n)
    ir += np.sinc(k - delay) * (np.abs(k - delay) < 16)
    tail_start = int(delay + 0.003 * sample_rate)
    t = np.arange(n - tail_start) / sample_rate
    tail = rng.standard_normal(t.size) * np.exp(-6.91 * t / rt60_s)
    tail *= 10 ** (-direct_to_reverb_db / 20) / np.sqrt(np.sum(tail ** 2))
    ir[tail_start:] += tail
    return ir / max(distance_m, 0.1)


def convolve(x: np.ndarray, h: np.ndarray, n: int | None = None) -> np.ndarray:
    """Linear convolution by FFT, cut to ``n`` samples (default: len(x))."""
    n = x.size if n is None else n
    size = 1 << int(np.ceil(np.log2(x.size + h.size)))
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[:n]
    return y.astype(np.float32)


def delayed(x: np.ndarray, delay_s: float, sample_rate: int, n: int | None = None) -> np.ndarray:
    """``x`` delayed by a fractional number of samples (exact in the frequency domain)."""
    n = x.size if n is None else n
    size = 1 << int(np.ceil(np.log2(max(n, x.size) + abs(delay_s) * sample_rate + 16)))
    f = np.fft.rfftfreq(size)
    y = np.fft.irfft(np.fft.rfft(x, size) * np.exp(-2j * np.pi * f * delay_s * sample_rate), size)
    return y[:n].astype(np.float32)


def slipped(x: np.ndarray, late: int, *, at: int) -> np.ndarray:
    """``x`` as a capture that falls ``late`` samples behind at sample ``at`` (ahead if
    negative: a dropped buffer, the end padded with silence) hands it on, as long as before."""
    if late >= 0:
        return np.concatenate([x[:at], np.zeros(late, x.dtype), x[at:]])[:x.size]
    return np.concatenate([x[:at], x[at - late:], np.zeros(-late, x.dtype)])


def noise(n: int, *, level_db: float, seed: int = 1) -> np.ndarray:
    """White noise ``level_db`` dBFS RMS."""
    return (np.random.default_rng(seed).standard_normal(n) * 10 ** (level_db / 20)).astype(np.float32)


def song(seconds: float, *, sample_rate: int, seed: int = 0) -> np.ndarray:
    """A stand-in backing track: a chord of five harmonics every quarter second on a random
    root, over soft noise (no drums)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    out = np.zeros(n, np.float32)
    step = sample_rate // 4
    tt = np.arange(step) / sample_rate
    for start in range(0, n, step):
        f0 = 110 * 2 ** (rng.integers(0, 12) / 12)
        tone = sum(0.1 / h * np.sin(2 * np.pi * f0 * h * tt) for h in range(1, 6)) * np.exp(-3 * tt)
        out[start:start + step] += tone[:n - start]
    return out + 0.02 * rng.standard_normal(n).astype(np.float32)


def bursts(seconds: float, *, sample_rate: int, every_s: float = 0.3, seed: int = 0) -> np.ndarray:
    """Stand-in drums: a 50 ms decaying noise burst every ``every_s``."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    out = np.zeros(n, np.float32)
    w = int(0.05 * sample_rate)
    env = np.exp(-np.arange(w) / (0.01 * sample_rate))
    for at in np.arange(every_s, seconds - 0.05, every_s):
        i = int(at * sample_rate)
        out[i:i + w] += 0.3 * rng.standard_normal(w) * env
    return out


#: Two kits in one room: each microphone 0.4 m from its own kit and 2.6 m / 3.2 m from the
#: other (metres, kit A then kit B).
MIC_DISTANCES_M = ((0.4, 3.2), (2.6, 0.4))


def two_mics(kit_a: np.ndarray, kit_b: np.ndarray, *, sample_rate: int,
             noise_db: float = -65.0,
             distances_m: tuple[tuple[float, float], ...] = MIC_DISTANCES_M,
             rt60_s: float = 0.5) -> list[np.ndarray]:
    """Microphones A and B hearing both kits: flight delay, 1/r loudness and a room's reverb
    (the far kit reaches a microphone with more reverb than direct sound); ``distances_m``
    as :data:`MIC_DISTANCES_M`."""
    n = max(kit_a.size, kit_b.size)
    mics = []
    for m, distances in enumerate(distances_m):
        out = noise(n, level_db=noise_db, seed=10 + m)
        for k, (kit, d) in enumerate(zip((kit_a, kit_b), distances)):
            ir = room_ir(sample_rate=sample_rate, distance_m=d, rt60_s=rt60_s,
                         direct_to_reverb_db=6.0 if d < 1 else -3.0, seed=20 + 2 * m + k)
            out[:kit.size] += convolve(kit, ir)
        mics.append(out)
    return mics


def flight_s(mic: int, kit: int,
             distances_m: tuple[tuple[float, float], ...] = MIC_DISTANCES_M) -> float:
    """Time the sound of ``kit`` takes to reach ``mic``."""
    return distances_m[mic][kit] / SPEED_OF_SOUND_M_S


def render_onset_delay_s(kit: str, *, sample_rate: int = 44100) -> float:
    """How long after a note's time a rendered kit's stroke starts to sound (its first sample
    above 1 % of its peak): the acoustic onset that a microphone, and the truth, go by."""
    from drumjam.io.render import render_events
    from drumjam.model import Hit, Voice

    x, sr = render_events([Hit(1.0, Voice.KICK, 100)], soundfont=kit, sample_rate=sample_rate,
                          mono=True)
    a = np.abs(x)
    return float(np.argmax(a > 0.01 * a.max()) / sr - 1.0)


#: A room's kit check: each of these drums hit four times at velocity 100, 0.4 s apart, the
#: kit alone (the prompts of :func:`duet_in_room` follow this layout).
CHECK_VOICES = ("kick", "snare", "hihat_closed", "tom_high", "tom_floor", "crash")
#: A hit is a stroke's when within this long of it and of its voice group.
MATCH_S = 0.025


def stream_hits(x: np.ndarray, sample_rate: int, profile=None) -> list:
    """What a microphone player's stream hears of ``x``, fed in 20 ms blocks as the browser
    sends them (with a kit check's :class:`~drumjam.analysis.kitprofile.KitProfile` if given)."""
    from drumjam.analysis.kitprofile import KitTranscriber
    from drumjam.analysis.transcribe import transcribe_blocks

    block = sample_rate // 50
    blocks = (x[i:i + block] for i in range(0, x.size, block))
    if profile is None:
        return transcribe_blocks(blocks, sample_rate=sample_rate)
    tr = KitTranscriber(profile, sample_rate=sample_rate)
    return [h for b in blocks for h in tr.process(b)] + tr.flush()


def near(hit, take, shift_s: float) -> bool:
    """Whether ``hit``, ``shift_s`` later than the take's clock, is one of its strokes."""
    return any(abs(hit.time_s - shift_s - t.time_s) <= MATCH_S and t.group == hit.group
               for t in take.hits)


def duet_in_room(takes: list, kits: tuple[str, str], *,
                 distances_m: tuple[tuple[float, float], ...] = MIC_DISTANCES_M,
                 rt60_s: float = 0.5, checked: bool = False) -> dict:
    """Two takes on two sampled kits in one room (:func:`two_mics`): each kit checked alone
    (how the other microphone hears it; with ``checked`` also its kit profile, used by its
    stream), then every hit of both microphones attributed to a kit.

    Returns a dict: ``truth`` (the takes as their kits sound them: a rendered kit sounds a
    few ms after the note's time; the microphones hear it later still by their distance,
    uncorrected), ``found`` (each kit's hits), ``signatures`` (the kits' room signatures),
    ``right`` and ``wrong`` (hits of a kit that are its own strokes, or the partner's).
    """
    from drumjam.analysis.kitcheck import attribute, learn_kit
    from drumjam.analysis.kitprofile import check_kit
    from drumjam.io.render import render_events
    from drumjam.model import Hit, Take

    renders = [render_events(t, soundfont=k, mono=True) for t, k in zip(takes, kits)]
    sr = renders[0][1]
    mix = {"distances_m": distances_m, "rt60_s": rt60_s, "sample_rate": sr}
    check = [Hit(0.5 + 0.4 * i, v, 100)
             for i, v in enumerate(v for v in CHECK_VOICES for _ in range(4))]
    prompts = [(v, 0.3 + 1.6 * i, 1.9 + 1.6 * i) for i, v in enumerate(CHECK_VOICES)]
    signatures, profiles = [], []
    for k, kit in enumerate(kits):
        alone, _ = render_events(check, soundfont=kit, mono=True)
        silent = np.zeros_like(alone)
        mics = two_mics(*((alone, silent) if k == 0 else (silent, alone)), **mix)
        profiles.append(check_kit(mics[k], prompts, sample_rate=sr) if checked else None)
        signatures.append(learn_kit(mics[k], mics[1 - k], stream_hits(mics[k], sr, profiles[k]),
                                    sample_rate=sr))
    mics = two_mics(renders[0][0], renders[1][0], **mix)
    found = attribute(mics, [stream_hits(m, sr, p) for m, p in zip(mics, profiles)], signatures,
                      sample_rate=sr)
    delays_s = [render_onset_delay_s(kit) for kit in kits]
    truth = [Take(tuple(Hit(h.time_s + d, h.voice, h.velocity) for h in t.hits),
                  player=t.player, beatmap=t.beatmap) for t, d in zip(takes, delays_s)]
    right = wrong = 0
    for k in (0, 1):
        for hit in found[k]:
            if near(hit, truth[k], flight_s(k, k, distances_m)):
                right += 1
            elif near(hit, truth[1 - k], flight_s(k, 1 - k, distances_m)):
                wrong += 1
    return {"truth": truth, "found": found, "signatures": signatures, "right": right,
            "wrong": wrong}
