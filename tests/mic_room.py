"""A simulated room for microphone tests: impulse responses, delays, noise and mixes."""

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
