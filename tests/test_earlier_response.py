"""An earlier take's response as a new take judges it: the gain fitted, the level followed."""

import numpy as np
import pytest

from drumjam.analysis.earlierresponse import (
    EARLIER_GAIN_RANGE,
    LEVEL_DEADBAND_DB,
    EarlierResponse,
    in_band,
    removing_gain,
)

SR = 48000
SEG = 2048
HOP = 1024


def spectrum(rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    return np.fft.rfft(scale * rng.standard_normal(SEG))


def test_the_gain_is_the_speakers_level_and_fails_where_the_set_up_changed():
    rng = np.random.default_rng(1)
    predicted = spectrum(rng)
    # speakers turned up 6 dB: the microphone hears twice what the response predicts
    assert removing_gain(*in_band(predicted, 2.0 * predicted)) == pytest.approx(2.0)
    # a little noise of the room on top still passes, at about the same gain
    noisy = 0.5 * predicted + 0.1 * spectrum(rng)
    assert removing_gain(*in_band(predicted, noisy)) == pytest.approx(0.5, abs=0.02)
    # turned far up: beyond the range, the set-up changed
    far = 1.5 * EARLIER_GAIN_RANGE[1]
    assert removing_gain(*in_band(predicted, far * predicted)) is None
    # headphones put on: the microphone hears something else, which the response cannot remove
    assert removing_gain(*in_band(predicted, spectrum(rng))) is None


def test_only_the_bins_the_response_predicts_count():
    rng = np.random.default_rng(2)
    predicted = np.zeros(SEG // 2 + 1, complex)
    predicted[100:110] = 1.0 + 0.5j  # a click's tone
    heard = predicted.copy()
    heard[300:400] = 50.0 * spectrum(rng)[300:400]  # a loud drum elsewhere in the spectrum
    cross, power, mic = in_band(predicted, heard)
    assert cross == pytest.approx(power)
    assert mic == pytest.approx(power)
    assert removing_gain(cross, power, mic) == pytest.approx(1.0)


def test_the_trial_is_judged_on_what_it_saw_and_carried_to_a_later_stream():
    rng = np.random.default_rng(3)
    trial = EarlierResponse(rng.standard_normal(64).astype(np.float32))
    assert not trial.applied and trial.fitted_gain() is None
    for _ in range(4):
        p = spectrum(rng)
        seen_s = trial.judge(p, 0.8 * p, HOP / SR)
    assert seen_s == pytest.approx(4 * HOP / SR)
    trial.gain = trial.fitted_gain()
    assert trial.gain == pytest.approx(0.8)
    assert np.allclose(trial.h, 0.8 * trial.response)
    carried = trial.resumed()
    assert carried.gain == trial.gain and np.array_equal(carried.seen, trial.seen)
    assert np.array_equal(carried.response, trial.response)


def test_the_take_s_own_response_takes_over_once_it_leaves_less_over_the_memory():
    trial = EarlierResponse(np.ones(8, np.float32), gain=1.0)
    forget = 0.9
    assert not trial.overtaken(1.0, 3.0, forget)
    # the take's own response has learned: it now leaves a tenth, and soon less overall
    turns = [trial.overtaken(1.0, 0.1, forget) for _ in range(20)]
    assert turns[-1] and not turns[0]
    first = turns.index(True)
    assert all(turns[first:])


def test_the_level_follows_the_speakers_and_a_copy_returns_to_before():
    rng = np.random.default_rng(4)
    applied = EarlierResponse(np.ones(8, np.float32), gain=1.0)
    for _ in range(40):  # steady, a hair louder than predicted: within the deadband
        p = spectrum(rng)
        applied.follow_level(p, 10 ** (0.5 * LEVEL_DEADBAND_DB / 20) * p, hop=HOP, sample_rate=SR)
    assert applied.level == 1.0
    before = applied.copy()
    for _ in range(400):  # speakers turned down 6 dB, over several LEVEL_S
        p = spectrum(rng)
        applied.follow_level(p, 0.5 * p, hop=HOP, sample_rate=SR)
    assert applied.level == pytest.approx(0.5, abs=0.01)
    assert before.level == 1.0 and not np.array_equal(before.level_seen, applied.level_seen)
    level = applied.level
    for _ in range(40):  # turned back up, but the drums drown what it predicts: kept
        p = spectrum(rng)
        applied.follow_level(p, p + 20.0 * spectrum(rng), hop=HOP, sample_rate=SR)
    assert applied.level == level
