"""The clicks in the microphone: the page's count-in and beat clicks, rebuilt on the server as
the page plays them, are cancelled with the backing track.

A take played between the beats (every stroke on an off-beat eighth) is rendered on a sampled
kit, 30 ms late; the microphone also hears the song and the clicks from a speaker 1.5 m away,
a round trip late. Any hit heard on a beat is then a click taken for a drum.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from drumjam.analysis.bleed import ArraySignal, BleedCanceller, learn_from_calibration
from drumjam.analysis.roundtrip import calibration_clicks, measure_round_trip
from drumjam.io.audio import load_audio
from drumjam.io.render import render_events
from drumjam.library import builtin_dir
from drumjam.model import BeatMap, Chart, Hit, Note, Voice
from drumjam.session.live import LiveSession, Player
from drumjam.session.mic import MicFrame, MicInput
from drumjam.session.playback import BackingSignal, Played, click_schedule, played_reference
from drumjam.session.practice import Practice, plan_practice
from mic_room import convolve, delayed, noise, render_onset_delay_s, room_ir, slipped

SR = 48000
ROUND_TRIP_S = 0.040
LATE_S = 0.030
#: The page's mix in the microphone: its peaks at 0.8 of the drums' (the song 5-10 dB
#: above what the canceller leaves between the strokes).
GAIN = 0.5
ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def run() -> dict:
    period = 0.5
    beats = np.arange(0.0, 6.01, period)
    beatmap = BeatMap.from_beats(beats, meter=4)
    voices = [Voice.KICK, Voice.HIHAT_CLOSED, Voice.SNARE, Voice.HIHAT_CLOSED]
    notes = tuple(Note(b + period / 2, voices[i % 4], 100) for i, b in enumerate(beats[:-1]))
    plan = plan_practice(Chart(notes, beatmap, title="off-beats"), beatmap, Practice())
    take = [Hit(n.time_s + LATE_S, n.voice, n.velocity) for n in plan.chart.notes]
    drums, _ = render_events(take, soundfont="black_pearl", sample_rate=SR, mono=True)
    song, _ = load_audio(builtin_dir() / "slow-funk" / "backing.ogg", sample_rate=SR)
    played = played_reference(plan, song, sample_rate=SR, count_in_bars=1, beat_clicks=True)
    start_s, n = played.start_s, drums.size
    backing, clicks = played.backing.samples(0, n), played.clicks.samples(0, n)
    assert start_s <= 0 and -start_s * SR < 2  # the count-in fills the lead-in bar exactly
    ir = room_ir(sample_rate=SR, distance_m=1.5, rt60_s=0.3)
    heard = 0.5 * convolve(backing + clicks, ir, n)  # the page's own mix, heard
    return {"plan": plan, "drums": drums, "reference": played, "played": heard,
            "backing": backing, "clicks": clicks, "start_s": start_s,
            "click_times": [c.time_s for c in click_schedule(
                plan.beatmap.beats_s, plan.beatmap.downbeats_s, meter=4,
                first_s=plan.lead_in_s, end_s=plan.duration_s, count_in_bars=1)]}


def _listen(run: dict, played: Played | None, gain: float) -> tuple[list, dict, object]:
    """Stream the microphone (the drums and the page's sound ``gain`` times as loud as in
    ``run``); the hits heard (played times), the score and the bleed report."""
    plan = run["plan"]
    mic_audio = delayed(run["drums"] + gain * run["played"], ROUND_TRIP_S, SR)
    session = LiveSession([Player("Kit", 1000 * ROUND_TRIP_S)], plan.beatmap, plan.chart,
                          start_s=plan.lead_in_s)
    mic = MicInput(partial(session.add_hit, 0), sample_rate=SR, timeline_zero_frame=0,
                   round_trip_s=ROUND_TRIP_S, played=played)
    heard = []
    for i in range(0, mic_audio.size, SR // 50):
        heard += mic.feed(MicFrame(0, 0, i, mic_audio[i:i + SR // 50]))[0]
    heard += mic.end()
    played_s = [h.hit.time_s - ROUND_TRIP_S for h in heard]
    return played_s, session.finish().scores[0].to_dict(), mic.bleed()


def _on_clicks(run: dict, played_s: list[float]) -> list[float]:
    clicks = np.asarray(run["click_times"])
    return [t for t in played_s if np.min(np.abs(clicks - t)) < 0.05]


def test_the_clicks_make_no_false_hits_and_every_stroke_is_found(run: dict) -> None:
    peaks = GAIN * np.max(np.abs(run["played"])) / np.max(np.abs(run["drums"]))
    assert 0.7 < peaks < 0.9
    played_s, score, report = _listen(run, run["reference"], GAIN)
    # the same without the clicks from the speakers: hits near the beats there are the song's
    # (what the canceller leaves of its own beats), not the clicks'
    n = run["drums"].size
    quiet = dict(run, played=0.5 * convolve(run["backing"][:n],
                                            room_ir(sample_rate=SR, distance_m=1.5, rt60_s=0.3), n))
    without_s, _, _ = _listen(quiet, run["reference"], GAIN)
    from_clicks = [t for t in _on_clicks(run, played_s)
                   if not any(abs(t - u) < 0.02 for u in without_s)]
    assert from_clicks == [], (from_clicks, _on_clicks(run, played_s), without_s)
    assert score["matched"] == len(run["plan"].chart.notes)
    late_ms = 1000 * (LATE_S + render_onset_delay_s("black_pearl", sample_rate=SR))
    assert score["mean_offset_ms"] == pytest.approx(late_ms, abs=5.0)
    assert report.bleed_db > 5 and not report.too_strong and report.message is None


def _click_windows(run: dict, n: int, after_s: float) -> np.ndarray:
    """Microphone samples in the 80 ms after each click heard ``after_s`` into the reference."""
    played = run["reference"]
    starts = (int((t - played.start_s + ROUND_TRIP_S) * SR) for t in run["click_times"])
    return np.concatenate([np.arange(i, i + int(0.08 * SR)) for i in starts
                           if after_s * SR < i < n - SR // 5])


def _left_db(heard: np.ndarray, windows: np.ndarray, played: Played, *, song: bool,
             clicks: bool) -> float:
    """dB left in ``windows`` once ``heard`` is cancelled with the song (or silence) and the
    clicks (or none) as the reference."""
    backing = played.backing if song else ArraySignal(np.zeros(heard.size, np.float32))
    bc = BleedCanceller(backing, sample_rate=SR, round_trip_s=ROUND_TRIP_S,
                        clicks=played.clicks if clicks else None,
                        alone_s=played.music_s - played.start_s)
    cleaned = np.concatenate([bc.process(heard[i:i + 960]) for i in range(0, heard.size, 960)])
    return float(10 * np.log10(np.sum(cleaned[windows] ** 2) / np.sum(heard[windows] ** 2)))


def test_the_clicks_are_cancelled_through_the_count_in_or_the_songs_path(run: dict) -> None:
    """With the song muted the clicks are cancelled with the response learned in the count-in;
    with the song playing, through the one path both take, learned from the song (the count-in's
    response kept while it agrees): 80 ms after each click, well under what is heard, and all
    of it left without the clicks in the reference."""
    played = run["reference"]
    ir = room_ir(sample_rate=SR, distance_m=1.5, rt60_s=0.3)
    n = run["drums"].size
    only_clicks = delayed(0.5 * convolve(run["clicks"], ir, n), ROUND_TRIP_S, SR)
    song_and_clicks = delayed(run["played"], ROUND_TRIP_S, SR)
    windows = _click_windows(run, n, played.music_s - played.start_s)
    assert _left_db(only_clicks, windows, played, song=False, clicks=True) < -8.0
    assert _left_db(only_clicks, windows, played, song=False, clicks=False) == pytest.approx(0.0, abs=0.1)
    # the song's response takes a second of song to learn: judged after it
    later = _click_windows(run, n, played.music_s - played.start_s + 1.0)
    with_clicks = _left_db(song_and_clicks, later, played, song=True, clicks=True)
    song_only = _left_db(song_and_clicks, later, played, song=True, clicks=False)
    assert with_clicks < -12.0 and with_clicks < song_only - 6.0, (with_clicks, song_only)


@pytest.mark.parametrize("voice", [Voice.KICK, Voice.SNARE])
def test_drums_played_along_the_count_in_are_not_taken_for_the_clicks(run: dict, voice: Voice) -> None:
    """A drummer who strikes a drum with each count-in click (10 ms apart from it, as people
    play) puts their strokes where the clicks' response is learned: without the song's path
    to check it against, every later click would be cancelled with a stroke of that drum, and
    the subtraction heard as hits. Played along or not, the same strokes are found and no more
    extra hits are heard."""
    plan, played = run["plan"], run["reference"]
    count_in = [t for t in run["click_times"] if t < plan.lead_in_s - 0.1]
    assert len(count_in) == 4
    jitter_s = 0.010 * np.random.default_rng(7).standard_normal(len(count_in))
    take = [Hit(n.time_s + LATE_S, n.voice, n.velocity) for n in plan.chart.notes]
    along = [Hit(t + LATE_S + j, voice, 100) for t, j in zip(count_in, jitter_s)]
    drums, _ = render_events(take + along, soundfont="black_pearl", sample_rate=SR, mono=True)
    n = run["drums"].size
    drums = np.pad(drums, (0, max(0, n - drums.size)))[:n]
    _, alone, _ = _listen(run, played, GAIN)
    _, with_count_in, _ = _listen(dict(run, drums=drums), played, GAIN)
    assert with_count_in["matched"] == alone["matched"] == len(plan.chart.notes)
    assert with_count_in["extra"] <= alone["extra"] + 1, (with_count_in["extra"], alone["extra"])


@pytest.mark.parametrize("gain", [GAIN, 4 * GAIN])
def test_the_clicks_add_no_stroke_where_their_response_takes_over(run: dict, gain: float) -> None:
    """No drums, only the page's sound: the clicks' response learned in the count-in takes
    over before the song's first click, faded in. Switched at once in the middle of that
    click, the estimate would step, a click the transcription hears as a stroke; as it is, the
    song's start makes no stroke that the song alone would not (its first notes sound before
    the song's response is learned)."""
    n = run["drums"].size
    ir = room_ir(sample_rate=SR, distance_m=1.5, rt60_s=0.3)
    start_s = run["plan"].lead_in_s

    def strokes_near_start(page: np.ndarray) -> list[float]:
        audio = delayed(gain * 0.5 * convolve(page[:n], ir, n), ROUND_TRIP_S, SR)
        mic = MicInput(lambda hit: None, sample_rate=SR, timeline_zero_frame=0,
                       round_trip_s=ROUND_TRIP_S, played=run["reference"])
        heard = [h for i in range(0, n, SR // 50)
                 for h in mic.feed(MicFrame(0, 0, i, audio[i:i + SR // 50]))[0]] + mic.end()
        return [t for t in (h.hit.time_s - ROUND_TRIP_S for h in heard) if abs(t - start_s) < 0.1]

    song_alone = strokes_near_start(run["backing"])
    with_clicks = strokes_near_start(run["backing"] + run["clicks"])
    assert all(any(abs(t - u) < 0.005 for u in song_alone) for t in with_clicks), (with_clicks, song_alone)


def test_too_strong_bleed_is_said(run: dict) -> None:
    played = run["reference"]
    loud = delayed(run["drums"] + 8.0 * run["played"], ROUND_TRIP_S, SR)
    bc = BleedCanceller(played.backing, sample_rate=SR, round_trip_s=ROUND_TRIP_S,
                        clicks=played.clicks, alone_s=played.music_s - played.start_s)
    bc.process(loud)
    report = bc.report()
    assert report.too_strong and "headphones" in report.message
    assert report.to_dict()["too_strong"] is True


def test_played_reference_starts_with_a_longer_count_in(run: dict) -> None:
    plan = run["plan"]
    played = played_reference(plan, None, sample_rate=SR, count_in_bars=2, beat_clicks=False)
    start_s = played.start_s
    n = int(round((plan.duration_s - start_s) * SR))
    backing, clicks = played.backing.samples(0, n), played.clicks.samples(0, n)
    bar_s = 4 * 0.5
    assert start_s == pytest.approx(plan.lead_in_s - 2 * bar_s, abs=1 / SR)
    assert not np.any(backing)
    onsets = np.flatnonzero(np.abs(clicks) > 1e-3)
    assert onsets[0] < 0.002 * SR  # the first count-in click starts the reference
    # eight count-in clicks and no beat clicks after the music starts (Click off)
    assert np.all(clicks[int((plan.lead_in_s - start_s + 0.1) * SR):] == 0)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run timeline.js")
def test_click_schedule_is_the_pages(run: dict) -> None:
    bm = run["plan"].beatmap
    args = {"beats": [float(b) for b in bm.beats_s], "downbeats": [float(b) for b in bm.downbeats_s],
            "meter": 4, "firstS": run["plan"].lead_in_s, "endS": run["plan"].duration_s}
    script = ("import { clickSchedule } from './src/drumjam/web/static/js/timeline.js';"
              f"const a = {json.dumps(args)};"
              "console.log(JSON.stringify([1, 2].map((n) => clickSchedule({ ...a, countInBars: n }))));")
    out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True,
                         text=True, timeout=60, cwd=ROOT, check=True)
    for bars, page in zip((1, 2), json.loads(out.stdout)):
        mine = click_schedule(bm.beats_s, bm.downbeats_s, meter=4, first_s=args["firstS"],
                              end_s=args["endS"], count_in_bars=bars)
        assert [(c.accent, c.count) for c in mine] == [(c["accent"], c["count"]) for c in page]
        np.testing.assert_allclose([c.time_s for c in mine], [c["time_s"] for c in page], atol=1e-9)


def test_the_played_reference_is_the_song_on_the_timeline_without_a_copy() -> None:
    """The backing as played (lead-in, the practised range, looped) read a piece at a time
    equals the song sample for sample, and a long song is held once: the reference for ten
    minutes at 48 kHz (115 MB of samples) and its canceller allocate next to nothing."""
    import tracemalloc

    sr = 1000
    audio = np.arange(1, 10_001, dtype=np.float32)  # sample k of the song holds k + 1
    signal = BackingSignal(audio, sample_rate=sr, lead_in_s=2.0, audio_start_s=3.0,
                           audio_end_s=4.0, looped=True, duration_s=6.5, first_s=-0.5)
    got = signal.samples(-100, 7100)
    timeline_s = (np.arange(-100, 7100) / sr) - 0.5
    expected = np.where((timeline_s >= 2.0 - 1e-9) & (timeline_s < 6.5 - 1e-9),
                        3001 + np.round((timeline_s - 2.0) * sr) % 1000, 0.0)
    np.testing.assert_array_equal(got, expected)
    once = BackingSignal(audio, sample_rate=sr, lead_in_s=2.0, audio_start_s=3.0, audio_end_s=4.0,
                         looped=False, duration_s=6.5, first_s=-0.5)
    np.testing.assert_array_equal(once.samples(2400, 2600), np.r_[np.zeros(100), 3001 + np.arange(100)])
    np.testing.assert_array_equal(once.samples(3400, 3600), np.r_[3901 + np.arange(100), np.zeros(100)])

    long_song = np.zeros(10 * 60 * SR, np.float32)
    long_song[::SR] = 0.5
    plan = plan_practice(Chart((), BeatMap.constant(120.0, 600.0), title="long"),
                         BeatMap.constant(120.0, 600.0), Practice())
    tracemalloc.start()
    try:
        played = played_reference(plan, long_song, sample_rate=SR, count_in_bars=2, beat_clicks=True)
        bc = BleedCanceller(played.backing, sample_rate=SR, round_trip_s=ROUND_TRIP_S,
                            clicks=played.clicks, alone_s=played.music_s - played.start_s)
        bc.process(np.zeros(SR, np.float32))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20e6, f"{peak / 1e6:.0f} MB allocated for a reference of {long_song.nbytes / 1e6:.0f} MB"


def test_a_microphone_reconnected_mid_song_cancels_at_once_what_it_learned(run: dict) -> None:
    """The microphone drops out after the count-in and comes back 0.6 s later: a new stream
    that starts from what the first one learned cancels the song and the clicks from its first
    moments (one starting afresh cancels nothing while it learns, and never hears the clicks
    alone) and finds every later stroke."""
    plan, played = run["plan"], run["reference"]
    bleed = delayed(GAIN * run["played"], ROUND_TRIP_S, SR)
    audio = delayed(run["drums"], ROUND_TRIP_S, SR) + bleed
    cut, resume, block = int(3.0 * SR), int(3.6 * SR), SR // 50

    def stream(x: np.ndarray, first: int, stop: int, learned: object = None) -> tuple:
        session = LiveSession([Player("Kit", 1000 * ROUND_TRIP_S)], plan.beatmap, plan.chart,
                              start_s=plan.lead_in_s)
        mic = MicInput(partial(session.add_hit, 0), sample_rate=SR, timeline_zero_frame=0,
                       round_trip_s=ROUND_TRIP_S, played=played, learned_bleed=learned)
        heard = []
        for i in range(first, stop, block):
            heard += mic.feed(MicFrame(0, 0, i, x[i:min(i + block, stop)]))[0]
        heard += mic.end()
        return mic, session.finish().scores[0].to_dict()

    before, _ = stream(audio, 0, cut)
    learned = before.learned_bleed()
    assert learned is not None and np.any(learned.clicks)
    _, score = stream(audio, resume, audio.size, learned)
    _, afresh = stream(audio, resume, audio.size)
    later = [n for n in plan.chart.notes if n.time_s + ROUND_TRIP_S > resume / SR + 0.05]
    assert score["matched"] == len(later)
    assert score["extra"] <= afresh["extra"], (score["extra"], afresh["extra"])
    first_s = slice(resume, resume + SR)  # the stream's first second, the song and its clicks alone
    left_db = {}
    for name, path in (("learned", learned), ("afresh", None)):
        bc = BleedCanceller(played.backing, sample_rate=SR, round_trip_s=ROUND_TRIP_S,
                            clicks=played.clicks, first_sample=resume, alone_s=0.0, learned=path)
        cleaned = np.concatenate([bc.process(bleed[i:i + block]) for i in range(resume, resume + SR, block)])
        left_db[name] = 10 * np.log10(np.sum(cleaned ** 2) / np.sum(bleed[first_s] ** 2))
    assert left_db["learned"] < -8.0 and left_db["afresh"] > -3.0, left_db


@pytest.mark.parametrize(("setup", "kept"), [("unchanged", True), ("speakers 6 dB down", True),
                                             ("headphones on", False), ("microphone moved", False)])
def test_the_next_take_tries_what_the_last_take_learned(run: dict, setup: str, kept: bool) -> None:
    """The player's next take with the same microphone and speakers: the response the last take
    learned is tried on the count-in's clicks. The set-up unchanged, or the speakers only
    turned down, it cancels the song from its first second (a take starting afresh removes
    almost nothing there) at the gain the speakers were turned by; headphones put on or the
    microphone moved, it is dropped and the take is cancelled exactly as afresh."""
    played, n = run["reference"], run["drums"].size
    drums = delayed(run["drums"], ROUND_TRIP_S, SR)
    first = int(round((played.music_s - played.start_s + ROUND_TRIP_S) * SR))
    first_s = slice(first, first + SR)  # the song's first second in the microphone

    def heard(distance_m: float = 1.5, seed: int = 0) -> np.ndarray:
        ir = room_ir(sample_rate=SR, distance_m=distance_m, rt60_s=0.3, seed=seed)
        return delayed(GAIN * 0.5 * convolve(run["backing"] + run["clicks"], ir, n), ROUND_TRIP_S, SR)

    def take(bleed: np.ndarray, earlier: object = None) -> tuple[np.ndarray, BleedCanceller]:
        return _take(played, drums + bleed, earlier)

    last = heard()
    learned = take(last)[1].learned().applied()
    bleed = {"unchanged": last, "speakers 6 dB down": 0.5 * last, "headphones on": 0.0 * last,
             "microphone moved": heard(distance_m=2.5, seed=5)}[setup]
    afresh, _ = take(bleed)
    cleaned, canceller = take(bleed, learned)
    report = canceller.report()
    if not kept:
        assert report.earlier_gain_db is None
        np.testing.assert_array_equal(cleaned, afresh)
        return

    def left_db(out: np.ndarray) -> float:
        return float(10 * np.log10(np.sum((out[first_s] - drums[first_s]) ** 2) / np.sum(bleed[first_s] ** 2)))

    assert left_db(cleaned) < -8.0 and left_db(afresh) > -3.0, (left_db(cleaned), left_db(afresh))
    unchanged_db = take(last, learned)[1].report().earlier_gain_db
    assert abs(unchanged_db) < 4.0
    assert report.earlier_gain_db - unchanged_db == pytest.approx(20 * np.log10(0.5 if "down" in setup else 1.0), abs=1.0)


@pytest.mark.parametrize("late_ms", [10.0, -10.0])
def test_a_capture_later_than_the_last_takes_is_found_on_the_count_in(run: dict,
                                                                    late_ms: float) -> None:
    """The next take's capture hears everything 10 ms later (or earlier) than the last take's
    did (a new stream's latency can differ by a buffer): the last take's response does not hold
    where the round trip puts it, and the count-in's clicks say where it does. The slip is
    taken from the stream's start, the response is applied from the song's first second, and
    a stroke is moved back by it."""
    played, n = run["reference"], run["drums"].size
    ir = room_ir(sample_rate=SR, distance_m=1.5, rt60_s=0.3)
    heard = delayed(run["drums"], ROUND_TRIP_S, SR) + delayed(
        GAIN * 0.5 * convolve(run["backing"] + run["clicks"], ir, n), ROUND_TRIP_S, SR)

    take = partial(_take, played)

    learned = take(heard)[1].learned().applied()
    late = int(round(late_ms * SR / 1000))
    drums = delayed(run["drums"], ROUND_TRIP_S + late / SR, SR)
    mic = slipped(heard, late, at=0)
    cleaned, canceller = take(mic, learned)
    assert [(s.at, s.samples) for s in canceller.slips] == [(0, late)]
    unslipped_db = take(heard, learned)[1].report().earlier_gain_db
    assert canceller.report().earlier_gain_db == pytest.approx(unslipped_db, abs=1.0)
    assert canceller.slipped(n - 1) == pytest.approx(late, abs=0.5)
    first = int(round((played.music_s - played.start_s + ROUND_TRIP_S) * SR)) + late
    first_s = slice(first, first + SR)  # the song's first second in the microphone
    bleed = mic - drums
    left_db = 10 * np.log10(np.sum((cleaned[first_s] - drums[first_s]) ** 2) / np.sum(bleed[first_s] ** 2))
    assert left_db < -8.0, left_db


@pytest.mark.parametrize("late_ms", [10.0, -10.0])
def test_a_capture_that_slips_while_the_last_takes_response_is_tried_is_found(
        run: dict, late_ms: float) -> None:
    """The next take's capture falls 10 ms behind (or ahead) 0.3 s into the count-in, before
    the last take's response has been tried on a second of it: the trial does not hold on the
    count-in as a whole, but its clicks after the step say where it does. The slip is dated
    between the clicks around it, the response applied at the gain of a take that did not
    slip, and the song cancelled from its first second."""
    played, n = run["reference"], run["drums"].size
    ir = room_ir(sample_rate=SR, distance_m=1.5, rt60_s=0.3)
    drums = delayed(run["drums"], ROUND_TRIP_S, SR)
    heard = drums + delayed(GAIN * 0.5 * convolve(run["backing"] + run["clicks"], ir, n), ROUND_TRIP_S, SR)

    take = partial(_take, played)

    learned = take(heard)[1].learned().applied()
    at, late = int(0.3 * SR), int(round(late_ms * SR / 1000))
    moved = partial(slipped, late=late, at=at)
    cleaned, canceller = take(moved(heard), learned)
    clicks_heard_s = np.array(run["click_times"]) - played.start_s + ROUND_TRIP_S
    before, after = clicks_heard_s[clicks_heard_s < 0.3][-1], clicks_heard_s[clicks_heard_s > 0.3][0]
    assert [s.samples for s in canceller.slips] == [late]
    assert before * SR < canceller.slips[0].at < after * SR
    unslipped_db = take(heard, learned)[1].report().earlier_gain_db
    assert canceller.report().earlier_gain_db == pytest.approx(unslipped_db, abs=1.0)
    assert canceller.slipped(n - 1) == pytest.approx(late, abs=0.5)
    first = int(round((played.music_s - played.start_s + ROUND_TRIP_S) * SR)) + late
    first_s = slice(first, first + SR)  # the song's first second in the microphone
    bleed = moved(heard) - moved(drums)
    left_db = 10 * np.log10(np.sum((cleaned[first_s] - moved(drums)[first_s]) ** 2) / np.sum(bleed[first_s] ** 2))
    assert left_db < -8.0, left_db


def _take(played: Played, mic: np.ndarray, earlier: object = None) -> tuple[np.ndarray, BleedCanceller]:
    """A take's microphone through a canceller of what the page played (trying ``earlier``),
    fed in 20 ms blocks: what it left, and the canceller."""
    bc = BleedCanceller(played.backing, sample_rate=SR, round_trip_s=ROUND_TRIP_S,
                        clicks=played.clicks, alone_s=played.music_s - played.start_s,
                        earlier=earlier)
    return np.concatenate([bc.process(mic[i:i + 960]) for i in range(0, mic.size, 960)]), bc


def test_a_take_that_slipped_hands_on_its_response_at_the_round_trip_given(run: dict) -> None:
    """The last take's capture fell 10 ms behind 3 s in, and its canceller followed it. What
    it learned is the room's response from where the song then arrived, before the slip and
    after it: the next take, its capture where the round trip says, applies it from the
    song's first second and finds no slip (none to take off its strokes)."""
    played, n = run["reference"], run["drums"].size
    ir = room_ir(sample_rate=SR, distance_m=1.5, rt60_s=0.3)
    drums = delayed(run["drums"], ROUND_TRIP_S, SR)
    heard = drums + delayed(GAIN * 0.5 * convolve(run["backing"] + run["clicks"], ir, n),
                            ROUND_TRIP_S, SR)

    take = partial(_take, played)

    at, late = 3 * SR, int(0.010 * SR)
    _, last = take(slipped(heard, late, at=at))
    assert [s.samples for s in last.slips] == [late]
    cleaned, canceller = take(heard, last.learned().applied())
    assert canceller.slips == [] and canceller.report().earlier_gain_db is not None
    first = int(round((played.music_s - played.start_s + ROUND_TRIP_S) * SR))
    first_s = slice(first, first + SR)  # the song's first second in the microphone
    bleed = heard - drums
    left_db = 10 * np.log10(np.sum((cleaned[first_s] - drums[first_s]) ** 2) / np.sum(bleed[first_s] ** 2))
    assert left_db < -8.0, left_db


def test_a_microphone_reconnected_in_a_tried_takes_first_second_keeps_the_tried_response(
        run: dict) -> None:
    """The next take applies the last take's response from the song's first note; its
    microphone drops out 0.2 s into the song and is back 0.1 s later. The new stream carries
    on with the tried response (the take's own learning is still too young to apply): the
    song's first second after the reconnect is cancelled as well as by the take that never
    dropped out while that take still applied the tried response (it goes on to its own once
    that leaves less), where a stream that forgot the trial cancels almost nothing."""
    played, n = run["reference"], run["drums"].size
    drums = delayed(run["drums"], ROUND_TRIP_S, SR)
    bleed = delayed(GAIN * run["played"], ROUND_TRIP_S, SR)
    mic = drums + bleed
    first = int(round((played.music_s - played.start_s + ROUND_TRIP_S) * SR))
    cut, resume, block = first + int(0.2 * SR), first + int(0.3 * SR), 960

    def stream(start: int, stop: int, **given: object) -> tuple[np.ndarray, BleedCanceller, int]:
        """The stream's output, its canceller, and the sample from which it no longer applied
        the tried response (``stop`` if it always did)."""
        bc = BleedCanceller(played.backing, sample_rate=SR, round_trip_s=ROUND_TRIP_S,
                            clicks=played.clicks, first_sample=start,
                            alone_s=max(0.0, (first - ROUND_TRIP_S * SR - start) / SR), **given)
        out, tried_until = [], stop
        for i in range(start, stop, block):
            out.append(bc.process(mic[i:min(i + block, stop)]))
            if tried_until == stop and "earlier" in given and bc.learned().trial is None:
                tried_until = i
        return np.concatenate(out), bc, tried_until

    earlier = stream(0, n)[1].learned().applied()
    whole, _, whole_tried_until = stream(0, n, earlier=earlier)
    dropped = stream(0, cut, earlier=earlier)[1]
    learned = dropped.learned()
    assert learned.trial is not None and learned.trial.gain is not None
    # the player's next take would try what this one applied: the tried response, at its gain
    np.testing.assert_allclose(learned.applied().response, learned.trial.gain * learned.trial.response)
    after = slice(resume, resume + SR)

    def left_db(out: np.ndarray, span: slice = after) -> float:
        return float(10 * np.log10(np.sum((out - drums[span]) ** 2) / np.sum(bleed[span] ** 2)))

    kept_out, _, kept_tried_until = stream(resume, resume + SR, learned=learned, earlier=earlier)
    forgot = left_db(stream(resume, resume + SR, learned=replace(learned, trial=None),
                            earlier=earlier)[0])
    kept = left_db(kept_out)
    assert kept_tried_until == resume + SR  # the whole second
    assert kept < -8.0 and forgot > -3.0, (kept, forgot)
    both = slice(resume, whole_tried_until)
    assert both.stop - both.start >= SR // 4
    never_dropped = left_db(whole[both], both)
    assert left_db(kept_out[:both.stop - resume], both) == pytest.approx(never_dropped, abs=1.0)


def test_the_first_take_tries_what_the_calibration_by_ear_heard(run: dict) -> None:
    """The calibration's noise bursts heard through the room the song will be heard through
    (:func:`~drumjam.analysis.bleed.learn_from_calibration`): the player's first take, its
    round trip the calibration's in whole ms as the page sets it, cancels the song's first
    second by more than 12 dB where a take starting afresh removes almost nothing."""
    played, n = run["reference"], run["drums"].size
    ir = room_ir(sample_rate=SR, distance_m=1.5, rt60_s=0.3)
    bursts, _ = calibration_clicks(sample_rate=SR)
    recorded = delayed(GAIN * 0.5 * convolve(bursts, ir, bursts.size + SR), ROUND_TRIP_S, SR)
    recorded += noise(recorded.size, level_db=-60)
    measured_s = measure_round_trip(bursts, recorded, sample_rate=SR).latency_ms / 1000
    calibrated = learn_from_calibration(bursts, recorded, sample_rate=SR, round_trip_s=measured_s).applied()
    drums = delayed(run["drums"], ROUND_TRIP_S, SR)
    bleed = delayed(GAIN * run["played"], ROUND_TRIP_S, SR)
    first = int(round((played.music_s - played.start_s + ROUND_TRIP_S) * SR))
    first_s = slice(first, first + SR)
    left_db = {}
    for name, path in (("calibrated", calibrated), ("afresh", None)):
        bc = BleedCanceller(played.backing, sample_rate=SR, round_trip_s=round(1000 * measured_s) / 1000,
                            clicks=played.clicks, alone_s=played.music_s - played.start_s,
                            earlier=path)
        mic = drums + bleed
        cleaned = np.concatenate([bc.process(mic[i:i + 960]) for i in range(0, n, 960)])
        left = cleaned[first_s] - drums[first_s]
        left_db[name] = float(10 * np.log10(np.sum(left ** 2) / np.sum(bleed[first_s] ** 2)))
    assert left_db["calibrated"] < -12.0 and left_db["afresh"] > -3.0, left_db


def test_a_calibrated_take_cancels_the_clicks_through_the_calibrations_path(run: dict) -> None:
    """While the calibration's response is applied, the clicks take it too: learned over the
    whole spectrum from the bursts, it leaves far less of them than the response the count-in's
    four clicks alone learn (the song muted, so that what is left after the count-in is the
    clicks'; in the 80 ms after each click, drums playing)."""
    played, n = run["reference"], run["drums"].size
    ir = room_ir(sample_rate=SR, distance_m=1.5, rt60_s=0.3)
    bursts, _ = calibration_clicks(sample_rate=SR)
    recorded = delayed(GAIN * 0.5 * convolve(bursts, ir, bursts.size + SR), ROUND_TRIP_S, SR)
    recorded += noise(recorded.size, level_db=-60)
    calibrated = learn_from_calibration(bursts, recorded, sample_rate=SR, round_trip_s=ROUND_TRIP_S).applied()
    drums = delayed(run["drums"], ROUND_TRIP_S, SR)
    clicks = delayed(GAIN * 0.5 * convolve(run["clicks"], ir, n), ROUND_TRIP_S, SR)
    windows = _click_windows(run, n, played.music_s - played.start_s)
    left_db = {}
    for name, earlier in (("calibrated", calibrated), ("count-in", None)):
        bc = BleedCanceller(ArraySignal(np.zeros(n, np.float32)), sample_rate=SR, round_trip_s=ROUND_TRIP_S,
                            clicks=played.clicks, alone_s=played.music_s - played.start_s, earlier=earlier)
        cleaned = np.concatenate([bc.process((drums + clicks)[i:i + 960]) for i in range(0, n, 960)])
        assert (bc.report().earlier_gain_db is not None) == (earlier is not None)
        left = cleaned[windows] - drums[windows]
        left_db[name] = float(10 * np.log10(np.sum(left ** 2) / np.sum(clicks[windows] ** 2)))
    assert left_db["calibrated"] < -20.0 and left_db["calibrated"] < left_db["count-in"] - 6.0, left_db
