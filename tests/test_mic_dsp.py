"""Microphone DSP with known answers: the round trip by ear and the song's bleed cancelled."""

from __future__ import annotations

import numpy as np
import pytest

from drumjam.analysis.bleed import PRE_S, TAPS_S, BleedCanceller
from drumjam.analysis.roundtrip import calibration_clicks, measure_round_trip
from drumjam.errors import InputError
from drumjam.io.render import render_events
from drumjam.model import Hit, Voice
from mic_room import SPEED_OF_SOUND_M_S, bursts, convolve, delayed, noise, room_ir, song

SR = 48000


@pytest.mark.parametrize(("round_trip_ms", "distance_m", "rt60_s", "noise_db"), [
    (23.4, 0.5, 0.2, -30.0),     # a wired interface, close speaker
    (91.3, 1.5, 0.4, -40.0),     # a laptop's speakers and built-in microphone
    (212.6, 3.0, 0.8, -30.0),    # a wireless speaker in a reverberant room
])
def test_round_trip_by_ear_within_2_ms(round_trip_ms: float, distance_m: float, rt60_s: float,
                                       noise_db: float) -> None:
    clicks, _ = calibration_clicks(sample_rate=SR)
    ir = room_ir(sample_rate=SR, distance_m=distance_m, rt60_s=rt60_s, seed=3)
    heard = delayed(convolve(clicks, ir, clicks.size + SR), round_trip_ms / 1000, SR)
    heard += noise(heard.size, level_db=noise_db)
    measured = measure_round_trip(clicks, heard, sample_rate=SR)
    truth_ms = round_trip_ms + 1000 * distance_m / SPEED_OF_SOUND_M_S
    assert measured.latency_ms == pytest.approx(truth_ms, abs=2.0)


def test_round_trip_refuses_silence_and_unheard_clicks() -> None:
    clicks, _ = calibration_clicks(sample_rate=SR)
    with pytest.raises(InputError, match="silent"):
        measure_round_trip(clicks, np.zeros(clicks.size + SR), sample_rate=SR)
    with pytest.raises(InputError, match="did not hear the clicks"):
        measure_round_trip(clicks, noise(clicks.size + SR, level_db=-20), sample_rate=SR)
    with pytest.raises(InputError, match="shorter"):
        measure_round_trip(clicks, clicks[:100], sample_rate=SR)


@pytest.mark.parametrize("phase_s", [0.0, 0.1, 0.2, 0.3, 0.4])
def test_round_trip_refuses_drums_heard_instead_of_the_clicks(phase_s: float) -> None:
    """A drummer warming up while the clicks play into a muted speaker: a kick or a snare every
    0.5 s lines up with a click or two at some delay (the whole-recording correlation alone
    reads a round trip there), never with most of them."""
    clicks, _ = calibration_clicks(sample_rate=SR)
    hits = [Hit(phase_s + 0.5 * i, Voice.KICK if i % 2 == 0 else Voice.SNARE, 110) for i in range(14)]
    drums, _ = render_events(hits, soundfont="black_pearl", sample_rate=SR, mono=True)
    drums = np.pad(drums, (0, max(0, clicks.size + SR - drums.size)))
    with pytest.raises(InputError, match="of the clicks at one delay"):
        measure_round_trip(clicks, drums, sample_rate=SR)


def test_round_trip_heard_through_hi_hats_played_meanwhile() -> None:
    """Hi-hats played over the clicks, three times as loud at their peaks: every click is still
    heard at the round trip."""
    clicks, _ = calibration_clicks(sample_rate=SR)
    ir = room_ir(sample_rate=SR, distance_m=1.5, rt60_s=0.4, seed=3)
    heard = delayed(convolve(clicks, ir, clicks.size + SR), 0.05, SR)
    hits = [Hit(0.1 + 0.25 * i, Voice.HIHAT_CLOSED, 90) for i in range(20)]
    hats, _ = render_events(hits, soundfont="gm", sample_rate=SR, mono=True)
    hats = np.pad(hats, (0, max(0, heard.size - hats.size)))[:heard.size]
    heard += 3.0 * np.abs(heard).max() * hats / np.abs(hats).max()
    measured = measure_round_trip(clicks, heard, sample_rate=SR)
    assert measured.latency_ms == pytest.approx(50.0 + 1500 / SPEED_OF_SOUND_M_S, abs=2.0)


def _mix(gain: float, seconds: float = 12.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    backing = song(seconds, sample_rate=SR)
    drums = bursts(seconds, sample_rate=SR)
    round_trip_s = 0.0734
    ir = room_ir(sample_rate=SR, distance_m=2.0, rt60_s=0.4, seed=2)
    bleed = gain * delayed(convolve(backing, ir), round_trip_s, SR)
    mic = drums + bleed + noise(drums.size, level_db=-60)
    # the calibration measured the round trip with the flight from the speaker
    return backing, drums, bleed, mic, round_trip_s + 2.0 / SPEED_OF_SOUND_M_S


def test_bleed_cancelled_by_12_db_and_blocks_do_not_matter() -> None:
    backing, drums, bleed, mic, round_trip_s = _mix(1.0)
    canceller = BleedCanceller(backing, sample_rate=SR, round_trip_s=round_trip_s)
    cleaned = np.concatenate([canceller.process(mic[i:i + 960]) for i in range(0, mic.size, 960)])
    later = slice(mic.size // 3, None)  # after the first few seconds of learning
    left = cleaned[later] - drums[later]
    assert 10 * np.log10(np.sum(bleed[later] ** 2) / np.sum(left ** 2)) > 12.0
    report = canceller.report()
    assert report.bleed_db > 0 and not report.too_strong and report.message is None
    other = BleedCanceller(backing, sample_rate=SR, round_trip_s=round_trip_s)
    odd = np.concatenate([other.process(mic[i:i + 7777]) for i in range(0, mic.size, 7777)])
    np.testing.assert_allclose(odd, cleaned, atol=1e-5)


def test_a_reverberant_room_is_cancelled_beyond_what_a_short_response_can() -> None:
    """RT60 0.7 s, the song louder than the drums: a response cut at :data:`TAPS_S` leaves the
    room's tail (the true room cut there removes 12 dB); once the long response has learned,
    the canceller removes far more than that."""
    seconds = 20.0
    backing, drums = song(seconds, sample_rate=SR), bursts(seconds, sample_rate=SR)
    ir = room_ir(sample_rate=SR, distance_m=2.0, rt60_s=0.7, seed=2)
    round_trip_s, flight_s = 0.0734, 2.0 / SPEED_OF_SOUND_M_S
    bleed = 3.0 * delayed(convolve(backing, ir), round_trip_s, SR)
    mic = drums + bleed + noise(drums.size, level_db=-60)
    canceller = BleedCanceller(backing, sample_rate=SR, round_trip_s=round_trip_s + flight_s)
    cleaned = np.concatenate([canceller.process(mic[i:i + 960]) for i in range(0, mic.size, 960)])
    cut = ir.copy()
    cut[int(round((flight_s - PRE_S + TAPS_S) * SR)):] = 0.0  # the true room, as short as that
    short = 3.0 * delayed(convolve(backing, cut), round_trip_s, SR)
    later = slice(12 * SR, None)

    def removed_db(left: np.ndarray) -> float:
        return float(10 * np.log10(np.sum(bleed[later] ** 2) / np.sum(left ** 2)))

    best_short_db = removed_db(bleed[later] - short[later])
    assert best_short_db < 14.0
    assert removed_db(cleaned[later] - drums[later]) > best_short_db + 6.0


def test_drums_that_come_and_go_leave_the_song_learned_where_they_are_quiet() -> None:
    """Loud fills every other two seconds, quiet strokes between, the drums 10 dB above the
    song's bleed: the song's path is learned mostly where the drums leave it room (each bin
    of each segment weighted by what the response left of it). Unweighted, the fills' power
    swamps the estimate and 9 dB of the bleed are removed; weighted, more than 15."""
    seconds = 16.0
    backing = song(seconds, sample_rate=SR)
    t_s = np.arange(int(seconds * SR)) / SR
    drums = bursts(seconds, sample_rate=SR, every_s=0.15) * np.where((t_s // 2) % 2 == 0, 3.0, 0.1)
    round_trip_s = 0.0734
    ir = room_ir(sample_rate=SR, distance_m=2.0, rt60_s=0.4, seed=2)
    bleed = delayed(convolve(backing, ir), round_trip_s, SR)
    mic = (drums + bleed + noise(drums.size, level_db=-60)).astype(np.float32)
    canceller = BleedCanceller(backing, sample_rate=SR,
                               round_trip_s=round_trip_s + 2.0 / SPEED_OF_SOUND_M_S)
    cleaned = np.concatenate([canceller.process(mic[i:i + 960]) for i in range(0, mic.size, 960)])
    later = slice(8 * SR, None)
    assert 10 * np.log10(np.sum(drums[later] ** 2) / np.sum(bleed[later] ** 2)) > 9.0
    left = cleaned[later] - drums[later]
    assert 10 * np.log10(np.sum(bleed[later] ** 2) / np.sum(left ** 2)) > 15.0


def test_bleed_too_strong_is_reported() -> None:
    backing, _, _, mic, round_trip_s = _mix(4.0)
    canceller = BleedCanceller(backing, sample_rate=SR, round_trip_s=round_trip_s)
    canceller.process(mic)
    report = canceller.report()
    assert report.too_strong and "headphones" in report.message


def test_no_bleed_leaves_the_drums() -> None:
    backing, drums, _, _, _ = _mix(0.0)
    canceller = BleedCanceller(backing, sample_rate=SR, round_trip_s=0.07)
    cleaned = canceller.process(drums)
    assert 10 * np.log10(np.sum((cleaned - drums) ** 2) / np.sum(drums ** 2)) < -20.0
    assert not canceller.report().too_strong


def test_a_microphone_that_does_not_hear_the_song_is_left_as_it_is() -> None:
    """Headphones: the microphone hears the drums, played along the song, and no song. The
    response learned is then a fit of the drums to the song; subtracting it would add the
    song's attacks, heard as strokes, most clearly once the drummer rests. Nothing is
    subtracted once the response is judged against no cancelling, and nothing while the
    drummer rests."""
    seconds, rest_s = 14.0, 8.0
    backing = song(seconds, sample_rate=SR)
    stroke = bursts(0.4, sample_rate=SR, every_s=0.3)[int(0.3 * SR):int(0.35 * SR)]  # one drum, as sampled
    drums = np.zeros(backing.size, np.float32)
    for at in np.arange(0.27, rest_s, 0.25):  # on each chord of the song, 20 ms late
        i = int(round(at * SR))
        drums[i:i + stroke.size] += stroke
    mic = drums + noise(drums.size, level_db=-70)
    canceller = BleedCanceller(backing, sample_rate=SR, round_trip_s=0.0734)
    cleaned = np.concatenate([canceller.process(mic[i:i + 960]) for i in range(0, mic.size, 960)])
    added = cleaned - mic

    def level_db(x: np.ndarray) -> float:
        return float(10 * np.log10(np.mean(x.astype(float) ** 2) + 1e-30))

    playing = slice(2 * SR, int(rest_s * SR))  # once judged
    assert level_db(added[playing]) < level_db(drums[playing]) - 60.0
    resting = slice(int((rest_s + 0.5) * SR), None)
    assert level_db(added[resting]) < -100.0
    assert not canceller.learned().applied().response.any()  # nothing for the next take
    report = canceller.report()
    assert report.bleed_db is None and not report.too_strong  # no song heard
