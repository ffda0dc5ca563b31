"""Microphone players in a live session: frames in, hits scored on the session's one path."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from drumjam.io.midi import read_chart
from drumjam.io.render import render_events
from drumjam.errors import InputError
from drumjam.library import builtin_dir
from drumjam.model import Hit, Voice
from drumjam.session.live import LiveSession, Player
from drumjam.session.mic import MicFrame, MicInput, decode_frame, encode_frame
from mic_room import render_onset_delay_s

DEMO = Path(__file__).resolve().parents[1] / "src/drumjam/data/demo/drummer1_pop-groove7_138.mid"
LATE_S = 0.030
BLOCK = 960  # 20 ms at 48 kHz


@pytest.fixture(scope="module")
def played() -> tuple:
    chart = read_chart(DEMO)
    notes = [n for n in chart.notes if n.time_s < 12.0]
    take = [Hit(n.time_s + LATE_S, n.voice, n.velocity) for n in notes]
    audio, sr = render_events(take, soundfont="black_pearl", sample_rate=48000, mono=True)
    return chart, notes, audio, sr


def _session(chart, latency_ms: float = 0.0) -> LiveSession:
    return LiveSession([Player("Mic", latency_ms)], chart.beatmap, chart)


def _stream(mic: MicInput, audio: np.ndarray, *, first_frame: int, fmt: str = "int16") -> list:
    heard = []
    for seq, i in enumerate(range(0, audio.size, BLOCK)):
        frame = decode_frame(encode_frame(audio[i:i + BLOCK], player=0, seq=seq,
                                          first_frame=first_frame + i, fmt=fmt))
        hits, _ = mic.feed(frame)
        heard += hits
    return heard


def test_frames_round_trip_and_bad_frames_refused() -> None:
    x = np.linspace(-1, 1, 300).astype(np.float32)
    for fmt, tol in (("int16", 1 / 32767), ("float32", 0.0)):
        frame = decode_frame(encode_frame(x, player=1, seq=7, first_frame=123456789, fmt=fmt))
        assert (frame.player, frame.seq, frame.first_frame) == (1, 7, 123456789)
        np.testing.assert_allclose(frame.samples, x, atol=tol + 1e-7)
    good = encode_frame(x, player=0, seq=0, first_frame=0)
    for bad, why in ((good[:10], "shorter than"), (b"XX" + good[2:], "not a microphone frame"),
                     (good + b"\0", "whole number")):
        with pytest.raises(InputError, match=why):
            decode_frame(bad)


def test_a_late_take_is_scored_late(played) -> None:
    chart, notes, audio, sr = played
    session = _session(chart, latency_ms=12.0)
    # the timeline's 0 s is audio-clock frame 96000; the microphone hears 12 ms late
    zero = 96000
    latency = int(0.012 * sr)
    mic = MicInput(partial(session.add_hit, 0), sample_rate=sr, timeline_zero_frame=zero)
    heard = _stream(mic, np.concatenate([np.zeros(latency, np.float32), audio]), first_frame=zero)
    heard += mic.end()
    assert heard and all(h.result is not None for h in heard)
    result = session.finish(stop_s=notes[-1].time_s + 0.1)
    score = result.scores[0].to_dict()
    assert score["matched"] >= 0.95 * len(notes)  # soft hi-hat strokes may go unheard
    # late by the take's 30 ms and the few ms the rendered strokes take to sound
    late_ms = 1000 * (LATE_S + render_onset_delay_s("black_pearl", sample_rate=sr))
    assert score["mean_offset_ms"] == pytest.approx(late_ms, abs=5.0)


def test_streaming_equals_one_block(played) -> None:
    chart, _, audio, sr = played
    a = MicInput(partial(_session(chart).add_hit, 0), sample_rate=sr, timeline_zero_frame=0)
    b = MicInput(partial(_session(chart).add_hit, 0), sample_rate=sr, timeline_zero_frame=0)
    small = _stream(a, audio[:sr * 4], first_frame=0, fmt="float32") + a.end()
    hits, _ = b.feed(MicFrame(0, 0, 0, audio[:sr * 4]))
    whole = hits + b.end()
    assert [(h.hit.voice, h.hit.velocity) for h in small] == [(h.hit.voice, h.hit.velocity) for h in whole]
    # the resampler's rounding differs with the block sizes by far less than a microsecond
    np.testing.assert_allclose([h.hit.time_s for h in small], [h.hit.time_s for h in whole], atol=1e-6)


def test_silence_clipping_and_unplugging(played) -> None:
    chart, _, audio, sr = played
    session = _session(chart)
    mic = MicInput(partial(session.add_hit, 0), sample_rate=sr, timeline_zero_frame=0)
    warnings = []
    for i in range(0, 4 * sr, BLOCK):  # four seconds of nothing
        warnings += mic.feed(decode_frame(encode_frame(np.zeros(BLOCK), player=0, seq=0,
                                                       first_frame=i)))[1]
    assert len(warnings) == 1 and "heard nothing" in warnings[0]
    loud = np.clip(audio[:2 * sr] * 40, -1, 1)
    start = 4 * sr
    heard = []
    for i in range(0, loud.size, BLOCK):
        hits, new = mic.feed(decode_frame(encode_frame(loud[i:i + BLOCK], player=0, seq=0,
                                                       first_frame=start + i)))
        heard += hits
        warnings += new
    assert sum("clipping" in w for w in warnings) == 1
    # unplugged: the stream ends; the last hits are scored and the session is kept
    heard += mic.end()
    assert heard and session.running(0)["hits"] == sum(h.result is not None for h in heard)
    with pytest.raises(InputError, match="ended"):
        mic.feed(decode_frame(encode_frame(loud[:BLOCK], player=0, seq=0, first_frame=0)))
    assert session.finish().scores[0].hits


def test_gaps_filled_and_long_gaps_refused(played) -> None:
    chart, _, _, sr = played
    mic = MicInput(partial(_session(chart).add_hit, 0), sample_rate=sr, timeline_zero_frame=0)
    mic.feed(decode_frame(encode_frame(np.zeros(BLOCK), player=0, seq=0, first_frame=0)))
    mic.feed(decode_frame(encode_frame(np.zeros(BLOCK), player=0, seq=2, first_frame=3 * BLOCK)))
    with pytest.raises(InputError, match="skipped"):
        mic.feed(decode_frame(encode_frame(np.zeros(BLOCK), player=0, seq=3,
                                           first_frame=3 * BLOCK + 5 * sr)))


def _scored(chart, take_audio, sr, *, expected, stop_s: float) -> dict:
    """A take heard 12 ms late by a microphone, scored; ``expected``: the chart is known."""
    session = _session(chart, latency_ms=12.0)
    zero, latency = 96000, int(0.012 * sr)
    mic = MicInput(partial(session.add_hit, 0), sample_rate=sr, timeline_zero_frame=zero,
                   round_trip_s=0.012, expected=expected)
    _stream(mic, np.concatenate([np.zeros(latency, np.float32), take_audio]), first_frame=zero)
    mic.end()
    return session.finish(stop_s=stop_s).to_dict()["players"][0]


def test_notes_due_are_heard_softly_and_skipped_ones_are_not_credited() -> None:
    """With the chart known (the built-in slow funk, ghost notes at velocity 10-49), a drum
    sounding alone is heard at half its threshold near its notes, and a pedal hi-hat under a
    closed one on its own; a take that skips the pedal and every stroke softer than velocity 40
    (hi-hats under snares and kicks among them) is credited with none of them."""
    chart = read_chart(builtin_dir() / "slow-funk" / "chart.mid")
    notes = [n for n in chart.notes if n.time_s < 8.0]
    due = [(n.time_s, n.voice) for n in chart.notes]
    stop_s = notes[-1].time_s + 0.1

    def render(keep) -> np.ndarray:
        take = [Hit(n.time_s + LATE_S, n.voice, n.velocity) for i, n in enumerate(notes) if keep(i)]
        return render_events(take, soundfont="black_pearl", sample_rate=48000, mono=True)[0]

    audio = render(lambda i: True)
    plain = _scored(chart, audio, 48000, expected=(), stop_s=stop_s)
    informed = _scored(chart, audio, 48000, expected=due, stop_s=stop_s)
    heard = set(plain["missed"]) - set(informed["missed"])
    assert set(informed["missed"]) < set(plain["missed"])
    assert {notes[i].voice for i in heard} == {Voice.HIHAT_CLOSED, Voice.HIHAT_PEDAL}
    assert min(notes[i].velocity for i in heard) < 20  # a ghost hi-hat sounding alone
    assert informed["score"]["extra"] == plain["score"]["extra"]
    late_ms = 1000 * (LATE_S + render_onset_delay_s("black_pearl", sample_rate=48000))
    assert informed["score"]["mean_offset_ms"] == pytest.approx(late_ms, abs=5.0)

    skipped = {i for i, n in enumerate(notes) if n.velocity < 40 or n.voice == Voice.HIHAT_PEDAL}
    assert len(skipped) >= 30
    told = _scored(chart, render(lambda i: i not in skipped), 48000, expected=due, stop_s=stop_s)
    assert skipped <= set(told["missed"])  # no skipped note is credited
    assert told["score"]["extra"] <= plain["score"]["extra"]


def test_streaming_equals_one_block_with_the_chart_known(played) -> None:
    chart, _, audio, sr = played
    due = [(n.time_s, n.voice) for n in chart.notes]
    a = MicInput(partial(_session(chart).add_hit, 0), sample_rate=sr, timeline_zero_frame=0,
                 expected=due)
    b = MicInput(partial(_session(chart).add_hit, 0), sample_rate=sr, timeline_zero_frame=0,
                 expected=due)
    small = _stream(a, audio[:sr * 4], first_frame=0, fmt="float32") + a.end()
    whole = b.feed(MicFrame(0, 0, 0, audio[:sr * 4]))[0] + b.end()
    assert [(h.hit.voice, h.hit.velocity) for h in small] == [(h.hit.voice, h.hit.velocity) for h in whole]
    np.testing.assert_allclose([h.hit.time_s for h in small], [h.hit.time_s for h in whole], atol=1e-6)
