"""The drum pattern's say on where the bar starts and on the tempo level: rendered grooves
with known bars and beats, and music without drums. (The real drum stems are held to their
recorded benchmark file by file in test_analysis.py.)"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from drumjam.analysis import drumnet, drumpattern
from drumjam.analysis.downbeats import phase_margins
from drumjam.io.midi import read_chart
from drumjam.io.render import render_events
from drumjam.model import BeatMap, Chart, Note, Voice

ROOT = Path(__file__).resolve().parents[1]
#: Test-split grooves of the Groove MIDI Dataset (never learned from).
HELD_OUT = ("drummer1/eval_session/10_soul-groove10_102_beat_4-4.mid",
            "drummer7/eval_session/10_soul-groove10_102_beat_4-4.mid")



def rock_beat(bars: int, tempo_bpm: float) -> Chart:
    """Kick on 1 and 3 (and the "and" of 3), snare on 2 and 4, hi-hat eighths, a crash on
    every fourth bar's one."""
    beatmap = BeatMap.constant(tempo_bpm, bars * 4 * 60.0 / tempo_bpm + 2.0, meter=4, start_s=0.5)
    period = 60.0 / tempo_bpm
    notes = []
    for bar in range(bars):
        one = 0.5 + bar * 4 * period
        notes += [Note(one + k * period / 2, Voice.HIHAT_CLOSED, 80) for k in range(8)]
        notes += [Note(one, Voice.KICK, 110), Note(one + 2 * period, Voice.KICK, 105),
                  Note(one + 2.5 * period, Voice.KICK, 90), Note(one + period, Voice.SNARE, 110),
                  Note(one + 3 * period, Voice.SNARE, 110)]
        if bar % 4 == 0:
            notes.append(Note(one, Voice.CRASH, 110))
    return Chart(tuple(sorted(notes, key=lambda n: n.time_s)), beatmap)


def test_activations_follow_each_drum() -> None:
    chart = rock_beat(8, 100.0)
    y, sr = render_events(chart, soundfont="black_pearl", mono=True)
    acts = drumpattern.drum_activations(y, sr)
    assert acts.shape == (int(np.ceil(y.size / sr * drumnet.FPS)), len(drumpattern.GROUPS))
    frames = lambda voice: np.round(np.array([n.time_s for n in chart.notes if n.voice is voice])
                                    * drumnet.FPS).astype(int)
    kick, snare = frames(Voice.KICK), frames(Voice.SNARE)
    peak = lambda group, at: np.array([acts[f - 2:f + 3, group].max() for f in at])
    assert np.median(peak(0, kick)) > 0.5 > np.median(peak(0, snare))
    assert np.median(peak(1, snare)) > 0.5 > np.median(peak(1, kick))


def test_a_rock_beat_gives_its_bar() -> None:
    """Beats given from the second beat on: the "one" is found at every fourth from the fourth."""
    chart = rock_beat(12, 112.0)
    y, sr = render_events(chart, soundfont="red_zeppelin", mono=True)
    acts = drumpattern.drum_activations(y, sr)
    beats = chart.beatmap.beats_s[1:12 * 4]
    margins = phase_margins(drumpattern.downbeat_logits(acts, drumnet.FPS, beats), 4)
    assert int(np.argmax(margins)) == 3


@pytest.mark.parametrize("name", HELD_OUT)
def test_held_out_grooves_give_their_bar(groove_midi: Path, name: str) -> None:
    chart = read_chart(groove_midi / name).section(0, 15)
    y, sr = render_events(chart, soundfont="black_pearl", mono=True)
    acts = drumpattern.drum_activations(y, sr)
    notes = chart.times_s()
    bm = chart.beatmap
    beats = bm.beats_s[(bm.beats_s >= notes[0] - 0.05) & (bm.beats_s <= notes[-1])]
    first = int(np.flatnonzero(np.isin(np.round(beats, 6), np.round(bm.downbeats_s, 6)))[0])
    logits = drumpattern.downbeat_logits(acts, drumnet.FPS, beats)
    assert int(np.argmax(phase_margins(logits, 4))) == first % 4


def test_music_without_drums_has_no_say() -> None:
    """Piano chords on every beat: the drum pattern stays out of the downbeats."""
    beatmap = BeatMap.constant(100.0, 20.0, meter=4, start_s=0.5)
    chords = Chart(tuple(Note(float(t), v, 90) for t in beatmap.beats_s[:-1]
                         for v in (Voice.KICK,)), beatmap)
    drums, sr = render_events(chords, soundfont="black_pearl", mono=True)
    t = np.arange(int(20.0 * sr)) / sr
    tones = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    envelope = np.zeros_like(t)
    for b in beatmap.beats_s[:-1]:
        seg = (t >= b) & (t < b + 0.5)
        envelope[seg] = np.exp(-(t[seg] - b) * 4)
    piano = (0.3 * tones * envelope).astype(np.float32)
    assert drumpattern.drum_presence(drumpattern.drum_activations(piano, sr)) < drumpattern.PRESENCE_MIN
    assert drumpattern.drum_presence(drumpattern.drum_activations(drums, sr)) >= drumpattern.PRESENCE_MIN


def test_the_downbeat_model_learned_from_no_groove_the_tests_or_benchmarks_render() -> None:
    sys.path.insert(0, str(ROOT / "training"))
    try:
        from downbeats import gmd_train_split
    except ImportError as exc:  # the training extra (scikit-learn) is not installed
        pytest.skip(f"training scripts need their extra: {exc}")
    learned = gmd_train_split()
    from test_analysis_beats import HUMAN_PERFORMANCES, ROCK_34, SOUL_44

    assert not learned & {SOUL_44, ROCK_34, *HUMAN_PERFORMANCES, *HELD_OUT}
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from beats import groove_set

    assert not learned & set(groove_set(48))


@pytest.mark.parametrize(("tempo_bpm", "kit"), [(150.0, "black_pearl"), (84.0, "red_zeppelin")])
def test_the_drums_tell_the_beat_from_its_half_and_double(tempo_bpm: float, kit: str) -> None:
    """A backbeat groove: its beat is more likely the beat than every other beat (either
    phase), and than the beats with the eighths between them."""
    chart = rock_beat(12, tempo_bpm)
    y, sr = render_events(chart, soundfont=kit, mono=True)
    acts = drumpattern.drum_activations(y, sr)
    beats = chart.beatmap.beats_s[:12 * 4]
    double = np.sort(np.r_[beats, beats[:-1] + 0.5 * np.diff(beats)])
    for half in (beats[::2], beats[1::2]):
        assert drumpattern.faster_is_beat_logit(acts, drumnet.FPS, half, beats) > 0
    assert drumpattern.faster_is_beat_logit(acts, drumnet.FPS, beats, double) < 0
