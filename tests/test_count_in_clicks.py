"""The clicks' own response, learned from the count-in where the microphone hears them alone."""

import numpy as np

from drumjam.analysis.roomresponse import CountInClicks, WelchResponse

SR = 16000
TAPS = 160  # 10 ms


def clicks(n: int) -> np.ndarray:
    """A click every 0.25 s: a 2 kHz burst of 5 ms."""
    x = np.zeros(n, np.float32)
    t = np.arange(int(0.005 * SR)) / SR
    burst = np.sin(2 * np.pi * 2000 * t) * np.hanning(t.size)
    for at in range(0, n - t.size, SR // 4):
        x[at:at + t.size] += burst
    return x


def learned(path: np.ndarray, *, noise: float = 0.0, seconds: float = 2.0) -> CountInClicks:
    song = WelchResponse(TAPS, SR)  # only for its segment length and window
    heard = CountInClicks.unheard(TAPS, song.seg)
    x = clicks(int(seconds * SR))
    y = np.convolve(x, path)[:x.size] + noise * np.random.default_rng(0).standard_normal(x.size)
    for m in range(0, x.size - song.seg, song.hop):
        xs, ys = x[m:m + song.seg], y[m:m + song.seg]
        if np.dot(xs, xs) > 1e-9 * song.seg:
            heard.add(np.fft.rfft(xs * song.window), np.fft.rfft(ys * song.window))
    return heard


def test_the_clicks_path_is_learned_where_they_sound_and_fixed_at_the_count_in_s_end():
    path = np.zeros(TAPS, np.float32)
    path[37] = 0.5  # 2.3 ms late, 6 dB down
    path[90] = -0.2  # a wall's reflection
    heard = learned(path, noise=1e-3)
    assert heard.heard and not heard.fixed
    h = heard.response()
    # where the clicks sound (about 2 kHz) the learned path predicts them as the true one does
    x = clicks(SR)
    predicted, true = np.convolve(x, h)[:x.size], np.convolve(x, path)[:x.size]
    assert np.sum((predicted - true) ** 2) < 0.01 * np.sum(true ** 2)
    assert abs(int(np.argmax(np.abs(h))) - 37) <= 1
    heard.fix()
    before = heard.copy()
    heard.forget()  # a slip: what was heard is forgotten, the fixed response kept
    assert heard.fixed and not heard.heard and np.array_equal(heard.response(), before.h)
    assert before.heard  # the copy returned to is untouched


def test_the_count_in_s_response_is_trusted_while_it_agrees_with_the_song_s():
    path = np.zeros(TAPS, np.float32)
    path[37] = 0.5
    heard = learned(path)
    heard.fix()
    song = WelchResponse(TAPS, SR)
    song.h = heard.h.copy()
    assert heard.agrees(song)
    # the song's response says the clicks arrive 3 ms later: a drummer played along the
    # count-in, and their strokes went into the clicks' response
    song.h = np.roll(heard.h, 48)
    assert not heard.agrees(song)
    # ... unless the song's response is still that unsure
    song.noise = np.full(song.noise.size, 1e3)
    assert heard.agrees(song)
