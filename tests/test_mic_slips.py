"""Capture slips with known answers: the microphone's stream steps against the speakers' clock
(a dropped or repeated buffer) and the song's bleed says where and by how much."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from drumjam.analysis.bleed import ArraySignal, BleedCanceller
from drumjam.analysis.drift import BREAKPOINTS, ClockWarp, WarpedSignal
from drumjam.analysis.roomresponse import RoomResponse
from drumjam.analysis.slips import CHUNK_S, SlipTracker
from drumjam.io.audio import load_audio
from drumjam.io.midi import read_chart
from drumjam.library import builtin_dir
from drumjam.io.render import render_events
from drumjam.model import Hit
from drumjam.session.live import LiveSession, Player
from drumjam.session.mic import MicFrame, MicInput
from drumjam.session.playback import Played, played_reference
from drumjam.session.practice import Practice, plan_practice
from mic_room import SPEED_OF_SOUND_M_S, bursts, convolve, delayed, noise, room_ir, slipped, song

SR = 48000
ROUND_TRIP_S = 0.0734
DISTANCE_M = 2.0
SLIP_AT_S = 6.0
SLIP_AT = int(SLIP_AT_S * SR)  # the sample the capture slips at
DEMO = Path(__file__).resolve().parents[1] / "src/drumjam/data/demo/drummer1_pop-groove7_138.mid"


def _bleed(backing: np.ndarray, gain: float) -> np.ndarray:
    ir = room_ir(sample_rate=SR, distance_m=DISTANCE_M, rt60_s=0.4, seed=2)
    return gain * delayed(convolve(backing, ir), ROUND_TRIP_S, SR)


def _cancel(backing: np.ndarray, mic: np.ndarray,
            earlier: RoomResponse | None = None) -> tuple[BleedCanceller, np.ndarray]:
    canceller = BleedCanceller(backing, sample_rate=SR,
                               round_trip_s=ROUND_TRIP_S + DISTANCE_M / SPEED_OF_SOUND_M_S,
                               earlier=earlier)
    cleaned = np.concatenate([canceller.process(mic[i:i + 960]) for i in range(0, mic.size, 960)])
    return canceller, cleaned


def _removed_db(bleed: np.ndarray, left: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(bleed ** 2) / np.sum(left ** 2)))


@pytest.mark.parametrize("slip_ms", [10.0, -10.0, 128 / 48])  # a buffer, and a render quantum
def test_a_slip_is_found_dated_and_the_song_cancelled_where_it_now_lies(slip_ms: float) -> None:
    """Drums over the song's bleed; 6 s in, the capture steps by ``slip_ms``. The slip is found
    once, its size to the sample and its place to a chunk, and from a second after it the
    song is cancelled as well as before it (unfollowed, the canceller would subtract the song
    where it no longer is and remove nothing)."""
    seconds = 14.0
    backing, drums = song(seconds, sample_rate=SR), bursts(seconds, sample_rate=SR)
    bleed = _bleed(backing, 1.0)
    d = int(round(slip_ms * SR / 1000))
    mic = slipped((drums + bleed + noise(drums.size, level_db=-60)).astype(np.float32), d, at=SLIP_AT)
    canceller, cleaned = _cancel(backing, mic)
    assert len(canceller.slips) == 1
    slip = canceller.slips[0]
    assert slip.samples == d
    assert abs(slip.at - SLIP_AT_S * SR) <= CHUNK_S * SR
    # (and no drift to speak of: the two clocks are one)
    assert canceller.slipped(int(5.0 * SR)) == pytest.approx(0.0, abs=0.2)
    assert canceller.slipped(int(9.0 * SR)) == pytest.approx(d, abs=0.2)
    assert canceller.report().slip_ms == pytest.approx(1000 * d / SR, abs=0.01)
    drums, bleed = slipped(drums, d, at=SLIP_AT), slipped(bleed, d, at=SLIP_AT)
    before, after = slice(3 * SR, 6 * SR), slice(8 * SR, 11 * SR)
    removed_before = _removed_db(bleed[before], cleaned[before] - drums[before])
    removed_after = _removed_db(bleed[after], cleaned[after] - drums[after])
    assert removed_before > 10.0
    assert removed_after > removed_before - 3.0


@pytest.mark.parametrize("change_db", [10.0, -10.0])
def test_speakers_turned_up_or_down_mid_take_are_followed(change_db: float) -> None:
    """A take trying the last take's response, the speakers turned up (or down) 10 dB 8 s in
    and the capture slipping 10 ms at 12 s: the estimate follows the song's level within a
    few seconds, the slip is found, and from 14 s on the bleed is removed within 3 dB of as
    well as before the change (at the level it had, 8-16 dB worse, and turned down the
    last take's response is dropped and the slip goes unfound)."""
    seconds = 20.0
    backing, drums = song(seconds, sample_rate=SR), bursts(seconds, sample_rate=SR)
    bleed = _bleed(backing, 1.0)[:backing.size]
    drums = drums[:bleed.size]
    heard = (drums + bleed + noise(bleed.size, level_db=-60)).astype(np.float32)
    earlier = _cancel(backing, heard)[0].learned().applied()
    bleed[8 * SR:] *= 10 ** (change_db / 20)
    late, at = int(0.010 * SR), 12 * SR
    mic = slipped((drums + bleed + noise(bleed.size, level_db=-60)).astype(np.float32), late, at=at)
    canceller, cleaned = _cancel(backing, mic, earlier=earlier)
    assert [s.samples for s in canceller.slips] == [late]
    drums, bleed = slipped(drums, late, at=at), slipped(bleed, late, at=at)
    before, later = slice(4 * SR, 8 * SR), slice(14 * SR, None)
    removed_before = _removed_db(bleed[before], cleaned[before] - drums[before])
    assert removed_before > 12.0
    assert _removed_db(bleed[later], cleaned[later] - drums[later]) > removed_before - 3.0


@pytest.mark.parametrize("ppm", [50.0, -50.0])
def test_a_microphone_on_another_clock_is_followed(ppm: float) -> None:
    """The microphone's clock runs 50 ppm fast (or slow) against the speakers': the song
    arrives 2.4 samples later (earlier) every second of it. Followed, the canceller removes
    more than 15 dB of the bleed after 20 s (left alone, under 4 dB), and a stroke is moved
    back by the drift within 0.3 ms."""
    seconds = 30.0
    backing, drums = song(seconds, sample_rate=SR), bursts(seconds, sample_rate=SR)
    bleed = _bleed(backing, 1.0)[:backing.size]
    n = np.arange(bleed.size)
    drifted = np.interp(n / (1 + ppm * 1e-6), n, bleed)  # sample n heard at n / (1 + ppm)
    mic = (0.3 * drums[:n.size] + drifted + noise(n.size, level_db=-60)).astype(np.float32)
    canceller, cleaned = _cancel(backing, mic)
    assert canceller.slips == []
    later = slice(20 * SR, None)
    assert _removed_db(drifted[later], cleaned[later] - 0.3 * drums[later]) > 15.0
    at = 28 * SR
    assert canceller.slipped(at) / SR == pytest.approx(ppm * 1e-6 * at / SR, abs=0.0003)


def test_no_slip_is_found_where_there_is_none() -> None:
    """A kit much louder than the song, and a microphone that does not hear the song at all
    (headphones): nothing moves (the prediction a response fitted to the drums makes is no
    bleed to follow)."""
    chart = read_chart(DEMO)
    kit, _ = render_events([n for n in chart.notes if n.time_s < 14.0], soundfont="black_pearl",
                           sample_rate=SR, mono=True)
    backing = song(kit.size / SR, sample_rate=SR)
    bleed = _bleed(backing, 1.0)[:backing.size]
    kit = kit[:bleed.size]
    kit = 10 * np.sqrt(np.mean(bleed ** 2) / np.mean(kit ** 2)) * kit  # 20 dB above the song
    for mic in (kit + bleed, kit):
        canceller, _ = _cancel(backing, (mic + noise(kit.size, level_db=-60)).astype(np.float32))
        assert canceller.slips == []
        assert canceller.slipped(kit.size) == pytest.approx(0.0, abs=0.5)  # no drift either


def test_a_song_the_microphone_does_not_hear_is_not_followed() -> None:
    """Headphones: the microphone hears the slow funk's drums alone, played along its backing
    track and the page's clicks. Until the canceller judges its response (a fit of the drums
    to the song) useless, it predicts a bleed there is not; it holds no song, and the
    microphone is not moved."""
    chart = read_chart(builtin_dir() / "slow-funk" / "chart.mid")
    plan = plan_practice(chart, chart.beatmap, Practice())
    backing, _ = load_audio(builtin_dir() / "slow-funk" / "backing.ogg", sample_rate=SR)
    played = played_reference(plan, backing, sample_rate=SR, count_in_bars=1, beat_clicks=True)
    notes = [n for n in plan.chart.notes if plan.lead_in_s <= n.time_s < plan.lead_in_s + 10.0]
    kit, _ = render_events([Hit(n.time_s + 0.030, n.voice, n.velocity) for n in notes],
                           soundfont="black_pearl", sample_rate=SR, mono=True)
    kit = convolve(kit, room_ir(sample_rate=SR, distance_m=1.0, rt60_s=0.3, seed=4), kit.size)
    kit = 0.25 * kit / np.max(np.abs(kit))
    mic = (delayed(kit, ROUND_TRIP_S, SR) + noise(kit.size, level_db=-60)).astype(np.float32)
    canceller = BleedCanceller(played.backing, sample_rate=SR, round_trip_s=ROUND_TRIP_S,
                               clicks=played.clicks, alone_s=played.music_s - played.start_s)
    for i in range(0, mic.size, 960):
        canceller.process(mic[i:i + 960])
    assert canceller.slips == []
    assert canceller.slipped(mic.size) == pytest.approx(0.0, abs=0.5)


def test_hits_after_a_slip_keep_their_time() -> None:
    """A take 30 ms late through a microphone that also hears the song; its capture falls
    10 ms behind 6 s in. Found, the slip is taken off every stroke heard after it was: they
    score 30 ms late as before it, not 40."""
    chart = read_chart(DEMO)
    notes = [n for n in chart.notes if n.time_s < 14.0]
    take, _ = render_events([Hit(n.time_s + 0.030, n.voice, n.velocity) for n in notes],
                            soundfont="black_pearl", sample_rate=SR, mono=True)
    backing = song(take.size / SR, sample_rate=SR)
    bleed = _bleed(backing, 0.5)
    d = int(0.010 * SR)
    mic = slipped((take + bleed + noise(take.size, level_db=-60)).astype(np.float32), d, at=SLIP_AT)
    played = Played(ArraySignal(backing), ArraySignal(np.zeros_like(backing)), 0.0, 0.0)
    session = LiveSession([Player("Mic", 0.0)], chart.beatmap, chart)
    round_trip_s = ROUND_TRIP_S + DISTANCE_M / SPEED_OF_SOUND_M_S
    mic_input = MicInput(partial(session.add_hit, 0), sample_rate=SR, timeline_zero_frame=0,
                         round_trip_s=round_trip_s, played=played)
    heard = []
    for i in range(0, mic.size, 960):
        heard += mic_input.feed(MicFrame(0, i // 960, i, mic[i:i + 960]))[0]
    heard += mic_input.end()
    offsets_ms = {True: [], False: []}
    for h in heard:
        if h.result is not None and h.result.offset_ms is not None:
            offsets_ms[h.hit.time_s > SLIP_AT_S + 1.0].append(h.result.offset_ms)
    assert len(offsets_ms[False]) > 10 and len(offsets_ms[True]) > 10
    before, after = (float(np.median(offsets_ms[k])) for k in (False, True))
    assert after == pytest.approx(before, abs=2.0)
    assert before == pytest.approx(30.0, abs=8.0)  # and the few ms the strokes take to sound


@pytest.mark.parametrize("heard", ["song", "headphones"])
def test_what_is_kept_to_learn_again_does_not_grow(heard: str) -> None:
    """What the canceller keeps to learn again after a slip (recent segments, the microphone
    under them) holds a few seconds, however long the stream: the memory it holds after 40 s
    is what it held after 15 s, the song heard or not (nothing followed)."""
    import tracemalloc

    seconds = 40.0
    backing = song(seconds, sample_rate=SR)
    mic = noise(backing.size, level_db=-50)
    if heard == "song":
        mic = mic + _bleed(backing, 1.0)[:backing.size]
    mic = mic.astype(np.float32)
    canceller = BleedCanceller(backing, sample_rate=SR, round_trip_s=ROUND_TRIP_S)
    held = {}
    tracemalloc.start()
    try:
        for i in range(0, mic.size, 960):
            canceller.process(mic[i:i + 960])
            if i // 960 in (int(15 * SR) // 960, int(40 * SR) // 960 - 1):
                held[i // 960] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    early, late = held.values()
    assert late - early < 2e6, f"{(late - early) / 1e6:.1f} MB more held after 40 s than after 15 s"


def test_a_signal_read_through_a_clock_warp() -> None:
    """Read 0.3 samples late, band-limited noise matches the same noise delayed exactly (in
    the frequency domain) to within 45 dB; drifting, read block by block, it is what one read
    of the whole gives; and a warp followed for long keeps its last breakpoints only."""
    rng = np.random.default_rng(0)
    n = 4 * SR
    spectrum = np.fft.rfft(rng.standard_normal(n)) * (np.fft.rfftfreq(n, 1 / SR) < 16000)
    x = np.fft.irfft(spectrum, n).astype(np.float32)
    late = np.fft.irfft(spectrum * np.exp(-2j * np.pi * np.fft.rfftfreq(n) * 0.3), n)
    warp = ClockWarp()
    read = WarpedSignal(ArraySignal(x), warp, sample_rate=SR)
    assert np.array_equal(read.samples(100, 200), x[100:200])  # nothing moved: as it is
    warp.follow(0, step=0.3, rate=0.0)
    got = read.samples(1000, n - 1000)
    error_db = 10 * np.log10(np.sum((got - late[1000:n - 1000]) ** 2) / np.sum(late ** 2))
    assert error_db < -45.0
    warp.follow(SR, step=0.0, rate=1e-4)  # drifting from 1 s on
    blocks = np.concatenate([read.samples(i, i + 960) for i in range(SR // 2, 3 * SR, 960)])
    whole = WarpedSignal(ArraySignal(x), warp, sample_rate=SR).samples(SR // 2, SR // 2 + blocks.size)
    np.testing.assert_allclose(blocks, whole, atol=1e-6)
    for k in range(2 * BREAKPOINTS):
        warp.follow(SR + 100 * k, step=0.01, rate=1e-4)
    assert warp.moved_since(0) == -np.inf  # the first changes are forgotten
    assert warp.moved_since(warp.version - 1) == SR + 100 * (2 * BREAKPOINTS - 1)


@pytest.mark.parametrize("slip_ms", [10.0, -10.0, 0.0])
def test_a_slip_among_clicks_heard_alone_is_found_between_them(slip_ms: float) -> None:
    """A count-in's clicks alone in the microphone (a 3 ms tone every 0.5 s through a room),
    the capture slipping 0.35 s into a window: the few chunks where they sound split at the
    step, and the slip is found there, dated between the clicks around it; unslipped, or with a
    drum struck between the clicks, nothing moves."""
    tracker = SlipTracker(SR)
    d, n = tracker.max_samples, tracker.window
    t = np.arange(int(0.003 * SR)) / SR
    clicks = np.zeros(3 * SR, np.float32)
    for at_s in np.arange(0.1, 3.0, 0.5):
        clicks[int(at_s * SR):int(at_s * SR) + t.size] += np.sin(2 * np.pi * 1500 * t) * np.hanning(t.size)
    heard = _bleed(clicks, 0.3)[:clicks.size] + noise(clicks.size, level_db=-70)
    start = SR // 2  # the window [0.5 s, 1.5 s): clicks at 0.6, 1.1 s (and their rooms' tails)
    late = int(round(slip_ms * SR / 1000))
    mic = slipped(heard, late, at=start + int(0.35 * SR))[start:start + n]
    predicted = (heard - noise(clicks.size, level_db=-70))[start - d:start + n + d]
    slip, _ = tracker.check(mic, predicted, start=start)
    if late == 0:
        assert slip is None
        drum = np.zeros_like(mic)
        drum[int(0.25 * SR):int(0.3 * SR)] = 0.5 * noise(int(0.05 * SR), level_db=0, seed=3)[:int(0.05 * SR)]
        assert tracker.check(mic + drum, predicted, start=start)[0] is None
        return
    assert slip is not None and slip.samples == late
    arrive_s = ROUND_TRIP_S + DISTANCE_M / SPEED_OF_SOUND_M_S
    assert (0.6 + arrive_s) * SR < slip.at <= (1.1 + arrive_s + CHUNK_S) * SR, slip.at / SR
