"""Build the built-in songs: drum charts from Groove MIDI grooves and generated backing tracks.

For each entry of ``src/drumjam/data/songs/songs.json`` this script

1. copies the source groove into ``data/songs/grooves/`` (CC BY 4.0, see CREDITS.md there),
2. takes ``bars`` bars from ``first_bar`` on, quantises them to the song's grid and writes
   ``<id>/chart.mid`` (bar 0 starts at 0 s),
3. writes a bass + chords backing (``<id>/backing.mid``, no drums) following the entry's chord
   progression and feel, and renders it with FluidSynth to ``<id>/backing.ogg``.

Run from the repository: ``python scripts/build_songs.py [--data ../shared/data]``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import mido
import numpy as np

from drumjam.io.midi import read_take, write_midi
from drumjam.io.render import render_midi
from drumjam.model import BeatMap, Take
from drumjam.scoring import quantize_take
from drumjam.library import builtin_dir, builtin_specs, write_ogg

PPQ = 480
NOTE_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
QUALITIES = {"": (0, 4, 7), "m": (0, 3, 7), "7": (0, 4, 7, 10), "m7": (0, 3, 7, 10), "5": (0, 7, 12)}
BASS_PROGRAM, CHORD_PROGRAM = 33, 4  # electric bass (finger), electric piano 1


def parse_chord(symbol: str) -> tuple[int, tuple[int, ...]]:
    """Root pitch class and chord intervals of a symbol like ``Em7`` or ``Bb7``."""
    root = NOTE_NAMES[symbol[0]]
    rest = symbol[1:]
    if rest[:1] in ("b", "#"):
        root += -1 if rest[0] == "b" else 1
        rest = rest[1:]
    return root % 12, QUALITIES[rest]


def bass_line(style: str, meter: int, swung: bool) -> list[tuple[float, int, float]]:
    """One bar of bass as (beat position, interval above the root, length in beats)."""
    off = 2 / 3 if swung else 0.5
    if style == "funk":
        return [(0, 0, 0.4), (0.75, 0, 0.2), (1.5, 12, 0.2), (2, 7, 0.4), (2.75, 10, 0.2),
                (3, 12, 0.4), (3.5, 7, 0.4)]
    if style == "eighths":
        return [(b + h, 0, 0.4) for b in range(meter) for h in (0, 0.5)]
    if style == "shuffle":
        steps = (0, 4, 7, 9, 10, 9, 7, 4)
        return [(b + h, steps[(2 * b + i) % 8], 0.3) for b in range(meter)
                for i, h in enumerate((0, off))]
    if style == "waltz":
        return [(0, 0, 0.9), (1, 7, 0.4), (2, 12, 0.4)]
    raise ValueError(f"unknown bass style {style!r}")


def comp_hits(meter: int, swung: bool) -> list[tuple[float, float]]:
    """One bar of chord stabs as (beat position, length in beats)."""
    if meter == 3:
        return [(1, 0.8), (2, 0.8)]
    if swung:
        return [(1, 0.6), (3, 0.6)]
    return [(0, 1.5), (2.5, 1.0)]


def backing_midi(spec: dict, tempo_bpm: float, meter: int, path: Path) -> None:
    """Write the bass + chords backing of a song as a type-1 MIDI file."""
    swung = spec["feel"] == "swung"
    midi = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    meta = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm)),
        mido.MetaMessage("time_signature", numerator=meter, denominator=4),
    ])
    midi.tracks.append(meta)
    events: list[tuple[int, int, mido.Message]] = []
    key_octave = 36 if NOTE_NAMES[spec["key"][0]] < 5 else 24

    def add(beat: float, length: float, channel: int, note: int, velocity: int) -> None:
        start, stop = round(beat * PPQ), round((beat + length) * PPQ)
        events.append((start, 1, mido.Message("note_on", channel=channel, note=note, velocity=velocity)))
        events.append((stop, 0, mido.Message("note_off", channel=channel, note=note, velocity=0)))

    for bar, symbol in enumerate(spec["progression"]):
        root, intervals = parse_chord(symbol)
        bar_beat = bar * meter
        for pos, step, length in bass_line(spec["bass"], meter, swung):
            add(bar_beat + pos, length, 0, key_octave + root + step, 96 if pos == 0 else 80)
        chord = [60 + ((root + i) % 12) - (12 if (root + i) % 12 > 7 else 0) for i in intervals]
        for pos, length in comp_hits(meter, swung):
            for note in chord:
                add(bar_beat + pos, length, 1, note, 62)
    final_root, _ = parse_chord(spec["progression"][0])
    add(len(spec["progression"]) * meter, meter, 0, key_octave + final_root, 90)
    track = mido.MidiTrack([
        mido.Message("program_change", channel=0, program=BASS_PROGRAM, time=0),
        mido.Message("program_change", channel=1, program=CHORD_PROGRAM, time=0),
    ])
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    midi.tracks.append(track)
    midi.save(path)


def build_song(spec: dict, data_dir: Path, out_dir: Path) -> None:
    """Make one song's chart, backing MIDI and backing audio."""
    source = data_dir / "groove-midi" / spec["groove"]
    grooves = out_dir / "grooves"
    grooves.mkdir(parents=True, exist_ok=True)
    copied = grooves / source.name
    shutil.copyfile(source, copied)
    take = read_take(copied)
    bm = take.beatmap
    first, n_bars = spec["first_bar"], spec["bars"]
    start_s, end_s = float(bm.downbeats_s[first]), float(bm.downbeats_s[first + n_bars])
    period_s = 60.0 / bm.tempo_bpm
    lead_s = period_s / 4  # early hits on the first "one" still belong to the first bar
    hits = tuple(h.__class__(h.time_s - start_s + lead_s, h.voice, h.velocity, h.hihat_openness)
                 for h in take.hits if start_s - lead_s <= h.time_s < end_s - lead_s)
    song_bm = BeatMap.constant(bm.tempo_bpm, n_bars * bm.meter * period_s, meter=bm.meter)
    shifted_bm = song_bm.shifted(lead_s)
    chart = quantize_take(Take(hits, beatmap=shifted_bm), shifted_bm, spec["grid"])
    notes = tuple(n.__class__(n.time_s - lead_s, n.voice, n.velocity) for n in chart.notes
                  if n.time_s - lead_s < n_bars * bm.meter * period_s - 1e-6)
    song_dir = out_dir / spec["id"]
    song_dir.mkdir(parents=True, exist_ok=True)
    write_midi(song_dir / "chart.mid", list(notes), song_bm)
    backing_mid = song_dir / "backing.mid"
    backing_midi(spec, bm.tempo_bpm, bm.meter, backing_mid)
    samples, sr = render_midi(backing_mid, soundfont="gm", sample_rate=44100)
    samples = np.asarray(samples, dtype=np.float32)
    peak = float(np.max(np.abs(samples))) or 1.0
    write_ogg(song_dir / "backing.ogg", samples * (0.7 / peak), sr)
    print(f"{spec['id']}: {len(notes)} notes, {n_bars} bars at {bm.tempo_bpm:.0f} BPM, "
          f"{samples.shape[0] / sr:.1f} s of backing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--data", type=Path, default=root.parent / "shared" / "data")
    args = parser.parse_args()
    for spec in builtin_specs():
        build_song(spec, args.data, builtin_dir())


if __name__ == "__main__":
    main()
