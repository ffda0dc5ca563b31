"""Notes due under another drum's stroke, heard by the kit check's spectra
(:mod:`drumjam.analysis.masked`): known answers on sampled kits, a real Groove MIDI
performance on a kit the bounds were not chosen on, and the profile's stored form."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from drumjam.analysis import drumnet
from drumjam.analysis.kitprofile import KitProfile, KitTranscriber, check_kit
from drumjam.analysis.masked import (MASKED_EXPLAINED_MIN, MASKED_FLOOR_DB, EDGES_HZ,
                                     DrumSpectrum, added_power, masked_part)
from drumjam.errors import InputError
from drumjam.io.midi import read_take
from drumjam.io.render import render_events
from drumjam.model import Hit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from kitcheck import pairs  # noqa: E402  (the benchmark's matching, one to one by voice group)

SR = 48000
PROMPT_S = 3.0
GROOVE = (Path(__file__).resolve().parents[2] / "shared/data/groove-midi/drummer7/eval_session"
          / "3_soul-groove3_86_beat_4-4.mid")


def _render(hits, kit):
    x, _ = render_events(hits, soundfont=kit, sample_rate=SR, mono=True)
    return np.pad(x, (0, SR)).astype(np.float32)


def _profile(voices, kit) -> KitProfile:
    """A kit check: four strokes of each drum, velocity 70 to 115, three seconds per drum."""
    check = [Hit(i * PROMPT_S + 0.6 + 0.5 * k, v, 70 + 15 * k) for i, v in enumerate(voices)
             for k in range(4)]
    prompts = [(v, i * PROMPT_S, (i + 1) * PROMPT_S) for i, v in enumerate(voices)]
    return check_kit(_render(check, kit), prompts, sample_rate=SR)


def _transcribe(tr, x, block):
    out = []
    for i in range(0, x.size, block):
        out += tr.process(x[i:i + block])
    return out + tr.flush()


@pytest.fixture(scope="module")
def black_pearl() -> KitProfile:
    return _profile(["kick", "snare", "hihat_closed", "side_stick"], "black_pearl")


@pytest.mark.parametrize(("under", "velocity", "due", "due_velocity"), [
    ("snare", 64, "hihat_closed", 40),  # the network hears the snare's cross-talk alone here
    ("snare", 48, "hihat_closed", 40),
    ("hihat_closed", 41, "kick", 30),
])
def test_a_stroke_under_another_is_found_and_its_absence_too(black_pearl, under, velocity, due,
                                                             due_velocity) -> None:
    gain = 10 ** (black_pearl.input_gain_db / 20)
    heard, wanted = black_pearl.spectra[under], black_pearl.spectra[due]
    both = _render([Hit(0.5, under, velocity), Hit(0.5, due, due_velocity)], "black_pearl")
    alone = _render([Hit(0.5, under, velocity)], "black_pearl")
    level_db, explained = masked_part(added_power(both * gain, 0.5, sample_rate=SR), [heard], wanted)
    assert level_db >= MASKED_FLOOR_DB and explained >= MASKED_EXPLAINED_MIN
    # the due drum's part follows how hard it was struck (MIDI velocity ~ 40 log10 amplitude)
    assert level_db == pytest.approx(40 * np.log10(due_velocity / wanted.velocity), abs=9.0)
    level_db, explained = masked_part(added_power(alone * gain, 0.5, sample_rate=SR), [heard], wanted)
    assert level_db < MASKED_FLOOR_DB or explained < MASKED_EXPLAINED_MIN


def _matched(chart, found):
    """Chart indices matched by a hit of their voice group within 50 ms, one to one."""
    return {i for i, _ in pairs(chart, found, 0.05)}


def test_a_real_groove_on_an_unseen_kit_gains_notes_under_strokes_and_credits_no_skipped_one() -> None:
    """The same kit check and chart with and without the check's spectra."""
    chart = [h for h in read_take(GROOVE).hits if 0.3 < h.time_s < 12.0]
    checkable = {v.value for v in drumnet.CLASSES}
    profile = _profile(sorted({h.voice.value for h in chart} & checkable), "red_zeppelin")
    due = [(h.time_s, h.voice) for h in chart]
    unheard = replace(profile, spectra={})  # the same check without its spectra
    played = _render(chart, "red_zeppelin")
    plain = _transcribe(KitTranscriber(unheard, sample_rate=SR, expected=due), played, 960)
    listened = _transcribe(KitTranscriber(profile, sample_rate=SR, expected=due), played, 960)
    assert len(_matched(chart, listened)) >= len(_matched(chart, plain)) + 2
    extra = len(listened) - len(_matched(chart, listened))
    assert extra == len(plain) - len(_matched(chart, plain))  # nothing found beside the chart
    # the same hits whatever the blocks the audio comes in
    again = _transcribe(KitTranscriber(profile, sample_rate=SR, expected=due), played, 4096)
    assert [(round(h.time_s, 6), h.voice) for h in again] == [(round(h.time_s, 6), h.voice)
                                                              for h in listened]
    # played again without its soft strokes: none of them is credited for being due
    soft = {i for i, h in enumerate(chart) if h.velocity < 40}
    skipped = _render([h for i, h in enumerate(chart) if i not in soft], "red_zeppelin")
    credited = [soft & _matched(chart, _transcribe(KitTranscriber(p, sample_rate=SR, expected=due),
                                                   skipped, 960))
                for p in (unheard, profile)]
    assert credited[1] <= credited[0]


def test_the_spectra_are_stored_with_the_profile_and_older_profiles_still_load(black_pearl) -> None:
    stored = black_pearl.to_dict()
    assert set(stored["spectra"]) == {"kick", "snare", "hihat_closed", "side_stick"}
    back = KitProfile.from_dict(stored)
    for voice, spectrum in black_pearl.spectra.items():
        assert back.spectra[voice].level == pytest.approx(spectrum.level, rel=1e-5)
        np.testing.assert_allclose(back.spectra[voice].shape, spectrum.shape, rtol=1e-4, atol=1e-9)
    older = {k: v for k, v in stored.items() if k != "spectra"}
    assert KitProfile.from_dict(older).spectra == {}  # nothing listened for under strokes
    hits = _transcribe(KitTranscriber(KitProfile.from_dict(older), sample_rate=SR,
                                      expected=[(0.5, "hihat_closed")]),
                       _render([Hit(0.5, "snare", 64), Hit(0.5, "hihat_closed", 40)], "black_pearl"), 960)
    assert [h.voice.value for h in hits] == ["snare"]
    broken = {**stored, "spectra": {"snare": [1.0, 2.0]}}
    with pytest.raises(InputError, match="check the kit again"):
        KitProfile.from_dict(broken)
    assert len(DrumSpectrum.from_list(stored["spectra"]["snare"]).shape) == len(EDGES_HZ) - 1


def test_a_stream_at_a_low_sample_rate_fits_only_the_bands_it_holds(black_pearl) -> None:
    """A 22.05 kHz stream holds nothing above 11 kHz: the hi-hat under the snare is still told
    from the snare alone by what lies below, not dragged down by the bands it cannot hold."""
    import soxr

    gain = 10 ** (black_pearl.input_gain_db / 20)
    heard, wanted = black_pearl.spectra["snare"], black_pearl.spectra["hihat_closed"]
    rate = 22050
    parts = []
    for hits in ([Hit(0.5, "snare", 64), Hit(0.5, "hihat_closed", 64)], [Hit(0.5, "snare", 64)]):
        x = soxr.resample(_render(hits, "black_pearl"), SR, rate)
        parts.append(masked_part(added_power(x * gain, 0.5, sample_rate=rate), [heard], wanted,
                                 sample_rate=rate))
    (both_db, both_share), (alone_db, alone_share) = parts
    assert both_db >= MASKED_FLOOR_DB and both_share >= MASKED_EXPLAINED_MIN
    assert alone_db < MASKED_FLOOR_DB or alone_share < MASKED_EXPLAINED_MIN
