"""The kit check: microphone transcription with and without a checked kit's profile.

For each sampled kit (AVL Black Pearl, AVL Red Zeppelin, FluidR3's GM set) a kit check is
rendered (four strokes of each drum the grooves use, three seconds per drum, as the page asks)
and learned with :func:`drumjam.analysis.kitprofile.check_kit`. Then real performances of Groove
MIDI — grooves (``drummer1/eval_session``, the first 15 s) and fills, where the toms are
(``drummer1/session1/*fill*``) — are rendered on the same kit through a small room (1 m,
RT60 0.3 s) and transcribed in 20 ms blocks by the plain
:class:`~drumjam.analysis.transcribe.DrumTranscriber` and by the
:class:`~drumjam.analysis.kitprofile.KitTranscriber` adapted to the profile. A hit counts when
it lies within 30 ms of a played stroke of its voice group (``mir_eval.util.match_events``,
one to one). Printed: precision, recall and F of both, the pairs the check could not tell
apart, and the CPU the check and the transcription take.

    python benchmarks/kitcheck.py [--grooves 5] [--fills 12] [--seconds 15] [--kits ...]

``--play-along`` prints instead how the chart being known changes what a microphone hears
(``DrumTranscriber(expected=...)``): Groove MIDI grooves by three drummers with many ghost
notes (the first ``--seconds``), played 20 ms late with 10 ms of timing scatter against their
own notes as the chart, rendered on each kit through the small room, clean and with a backing
track (bass and chords, no drums) as loud as the drums or 10 dB louder, played a 40 ms round
trip late through a room and cancelled (:class:`~drumjam.analysis.bleed.BleedCanceller`).
Printed, for the plain transcriber, with the chart, and with the kit check and the chart (as
a microphone player's stream with a kit check: thresholds lowered near notes due and notes due
under other drums' strokes listened for, :mod:`drumjam.analysis.masked`): the share of soft strokes
(velocity < 40) and of all strokes heard (within 50 ms, one to one, by voice group), the hits
matching no stroke, and, for the take played again skipping every soft stroke, the share of the
skipped notes a hit is matched to (false credit).

    python benchmarks/kitcheck.py --play-along [--seconds 12] [--kits ...]

``--masked-levels`` prints how loud the kit check's spectra find each note of those grooves that
sounds with another drum's stroke (within 20 ms), played and skipped, against
:data:`drumjam.analysis.masked.MASKED_FLOOR_DB`: the floor was chosen on ``black_pearl`` and is
checked on the other kits; the last column gives the shares found and credited were the floor
5 dB higher or 5 and 10 dB lower.

    python benchmarks/kitcheck.py --masked-levels [--seconds 15] [--kits ...]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import mir_eval
import numpy as np

from drumjam.analysis.bleed import BleedCanceller
from drumjam.analysis.kitprofile import KitTranscriber, check_kit
from drumjam.analysis.masked import (MASKED_EXPLAINED_MIN, MASKED_FLOOR_DB, TOGETHER_S,
                                     added_power, masked_part)
from drumjam.analysis.transcribe import DrumTranscriber
from drumjam.io.audio import load_audio
from drumjam.io.midi import read_take
from drumjam.io.render import render_events
from drumjam.library import builtin_dir
from drumjam.model import Hit, voice_group

SR = 48000
BLOCK = SR // 50
PROMPT_S = 3.0
WINDOW_S = 0.03
GROOVE_MIDI = Path(__file__).resolve().parents[2] / "shared/data/groove-midi"
DRUMMER = GROOVE_MIDI / "drummer1"
#: Play-along takes: grooves with many strokes softer than velocity 40.
PLAY_ALONG = ("drummer5/eval_session/2_funk-groove2_105_beat_4-4.mid",
              "drummer7/eval_session/3_soul-groove3_86_beat_4-4.mid",
              "drummer1/eval_session/6_hiphop-groove6_87_beat_4-4.mid")
SOFT_VELOCITY = 40
DUE_WINDOW_S = 0.05
ROUND_TRIP_S = 0.04
CHECKABLE = ("kick", "snare", "hihat_closed", "hihat_open", "hihat_pedal", "tom_high", "tom_mid",
             "tom_floor", "crash", "ride", "ride_bell", "side_stick")
#: Floors printed beside the chosen one by ``--masked-levels`` (dB relative to it).
FLOOR_STEPS_DB = (5.0, 0.0, -5.0, -10.0)


def room(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """``x`` heard 1 m away in a small room (direct sound and a 0.3 s diffuse tail)."""
    rng = np.random.default_rng(seed)
    n = int(0.3 * SR)
    ir = rng.standard_normal(n) * np.exp(-6.91 * np.arange(n) / (0.3 * SR)) * 0.02
    ir[0] = 1.0
    size = 1 << int(np.ceil(np.log2(x.size + n)))
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[:x.size]
    return (0.25 * y / np.max(np.abs(y))).astype(np.float32)


def transcribe(tr, x: np.ndarray) -> list[Hit]:
    out = []
    for i in range(0, x.size, BLOCK):
        out += tr.process(x[i:i + BLOCK])
    return out + tr.flush()


def pairs(truth: list[Hit], found: list[Hit], window_s: float = WINDOW_S) -> list[tuple[int, int]]:
    """(truth index, found index) of hits within ``window_s`` of a stroke of their voice
    group, one to one."""
    out = []
    for group in {voice_group(h.voice) for h in truth}:
        ref = [i for i, h in enumerate(truth) if voice_group(h.voice) == group]
        est = [j for j, h in enumerate(found) if voice_group(h.voice) == group]
        if est:
            got = mir_eval.util.match_events(np.array([truth[i].time_s for i in ref]),
                                             np.array([found[j].time_s for j in est]), window_s)
            out += [(ref[a], est[b]) for a, b in got]
    return out


def matched(truth: list[Hit], found: list[Hit]) -> int:
    """Hits within 30 ms of a played stroke of their voice group, one to one."""
    return len(pairs(truth, found))


def prf(tp: int, n_truth: int, n_found: int) -> str:
    p, r = tp / max(n_found, 1), tp / max(n_truth, 1)
    return f"{p:.2f} / {r:.2f} / {2 * p * r / max(p + r, 1e-9):.2f}"


def score(kit: str, profile, takes: list[list[Hit]]) -> dict[str, list[float]]:
    """Matched, played and found hits, and CPU s, of both transcribers over ``takes``."""
    out = {"plain": [0, 0, 0, 0.0], "kit": [0, 0, 0, 0.0]}
    for seed, take in enumerate(takes):
        y = room(render_events(take, soundfont=kit, sample_rate=SR, mono=True)[0], seed)
        for name, tr in (("plain", DrumTranscriber(sample_rate=SR)),
                         ("kit", KitTranscriber(profile, sample_rate=SR))):
            cpu0 = time.process_time()
            found = transcribe(tr, y)
            row = out[name]
            row[3] += time.process_time() - cpu0
            row[0] += matched(take, found)
            row[1] += len(take)
            row[2] += len(found)
    return out


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def with_song(drums: np.ndarray, song_db: float | None) -> np.ndarray:
    """The microphone: ``drums``, and the built-in song's backing a round trip late through a
    room at ``song_db`` relative to the drums (RMS), cancelled (None: no song)."""
    if song_db is None:
        return drums
    song, _ = load_audio(builtin_dir() / "slow-funk" / "backing.ogg", sample_rate=SR)
    song = np.resize(song.astype(np.float32), drums.size + SR)
    heard = room(song, seed=7)
    lag = int(ROUND_TRIP_S * SR)
    heard = np.concatenate([np.zeros(lag, np.float32), heard])[:drums.size]
    mic = drums + heard * (_rms(drums) / _rms(heard) * 10 ** (song_db / 20))
    bc = BleedCanceller(song, sample_rate=SR, round_trip_s=ROUND_TRIP_S)
    return np.concatenate([bc.process(mic[i:i + BLOCK]) for i in range(0, mic.size, BLOCK)])


def kit_profile(kit: str, voices: list[str]):
    """The kit check of ``voices`` on ``kit`` (four strokes each, velocity 70 to 115, in the
    small room) and the CPU seconds it took."""
    check = [Hit(i * PROMPT_S + 0.6 + 0.5 * k, v, 70 + 15 * k) for i, v in enumerate(voices)
             for k in range(4)]
    x, _ = render_events(check, soundfont=kit, sample_rate=SR, mono=True)
    cpu0 = time.process_time()
    profile = check_kit(room(x), [(v, i * PROMPT_S, (i + 1) * PROMPT_S) for i, v in enumerate(voices)],
                        sample_rate=SR)
    return profile, time.process_time() - cpu0


def play_along_charts(seconds: float) -> tuple[list[list[Hit]], list[str]]:
    """The play-along grooves' first ``seconds`` and the drums a kit check asks for."""
    charts = [[h for h in read_take(GROOVE_MIDI / p).hits if 0.3 < h.time_s < seconds]
              for p in PLAY_ALONG]
    return charts, sorted({h.voice.value for c in charts for h in c} & set(CHECKABLE))


def play_along(kits: list[str], seconds: float) -> None:
    """The table of ``--play-along`` (see the module's description)."""
    rng = np.random.default_rng(0)
    charts, voices = play_along_charts(seconds)
    print(f"{len(charts)} grooves x {seconds:.0f} s ({', '.join(PLAY_ALONG)}); "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    print("| kit | song in the microphone | strokes (soft) | plain: soft / all heard, extra hits "
          "| with the chart: soft / all heard, extra hits "
          "| kit check and chart: soft / all heard, extra hits | skipped soft notes credited, "
          "plain / with the chart / kit check and chart |")
    print("|---|---|---|---|---|---|---|")
    for kit in kits:
        profile, _ = kit_profile(kit, voices)
        for song_db in (None, 0.0, 10.0):
            # per transcriber: soft heard, all heard, extra, skipped credited, skipped
            row = {k: np.zeros(5) for k in ("plain", "chart", "kit")}
            n_soft = n_all = 0
            for chart in charts:
                played = [Hit(h.time_s + 0.02 + rng.normal(0, 0.01), h.voice, h.velocity)
                          for h in chart]
                soft = {i for i, h in enumerate(chart) if h.velocity < SOFT_VELOCITY}
                n_soft, n_all = n_soft + len(soft), n_all + len(chart)
                due = [(h.time_s, h.voice) for h in chart]
                for skip in (False, True):
                    take = [h for i, h in enumerate(played) if not (skip and i in soft)]
                    mic = with_song(room(render_events(take, soundfont=kit, sample_rate=SR,
                                                       mono=True)[0]), song_db)
                    for name, tr in (("plain", DrumTranscriber(sample_rate=SR)),
                                     ("chart", DrumTranscriber(sample_rate=SR, expected=due)),
                                     ("kit", KitTranscriber(profile, sample_rate=SR, expected=due))):
                        found = transcribe(tr, mic)
                        got = dict(pairs(chart, found, DUE_WINDOW_S))
                        r = row[name]
                        if skip:
                            r[3] += len(soft & set(got))
                            r[4] += len(soft)
                        else:
                            r[0] += len(soft & set(got))
                            r[1] += len(got)
                            r[2] += len(found) - len(got)
            said = "none" if song_db is None else f"{song_db:+.0f} dB, cancelled"
            cells = " | ".join(f"{r[0] / n_soft:.2f} / {r[1] / n_all:.2f}, {r[2]:.0f}"
                               for r in row.values())
            credited = " / ".join(f"{r[3] / r[4]:.2f}" for r in row.values())
            print(f"| {kit} | {said} | {n_all} ({n_soft}) | {cells} | {credited} |", flush=True)


def masked_levels(kits: list[str], seconds: float) -> None:
    """The table of ``--masked-levels`` (see the module's description)."""
    charts, voices = play_along_charts(seconds)
    print(f"floor {MASKED_FLOOR_DB:+.0f} dB, explaining at least {MASKED_EXPLAINED_MIN:.2f} of the "
          f"residue (-120 dB where less or none); {len(charts)} grooves x {seconds:.0f} s\n")
    floors = [MASKED_FLOOR_DB + d for d in FLOOR_STEPS_DB]
    print("| kit | masked notes | played: level percentiles 5 / 25 / 50 dB, share found "
          "| skipped: level percentiles 50 / 95 dB, share credited "
          f"| found / credited at floors {' / '.join(f'{f:+.0f}' for f in floors)} dB |")
    print("|---|---|---|---|---|")
    for kit in kits:
        profile, _ = kit_profile(kit, voices)
        gain = 10 ** (profile.input_gain_db / 20)
        levels: dict[str, list[float]] = {"played": [], "skipped": []}
        for chart in charts:
            full = room(render_events(chart, soundfont=kit, sample_rate=SR, mono=True)[0])
            for h in chart:
                under = [o for o in chart if abs(o.time_s - h.time_s) <= TOGETHER_S
                         and voice_group(o.voice) != voice_group(h.voice)]
                spectra = [profile.spectra.get(o.voice.value) for o in under]
                due = profile.spectra.get(h.voice.value)
                if not under or due is None or any(s is None for s in spectra):
                    continue
                rest = room(render_events([o for o in chart if o is not h], soundfont=kit,
                                          sample_rate=SR, mono=True)[0])
                at = min(o.time_s for o in under)
                for name, x in (("played", full), ("skipped", rest)):
                    p = added_power(x * gain, at, sample_rate=SR)
                    if p is not None:
                        level_db, explained = masked_part(p, spectra, due)
                        levels[name].append(max(level_db, -120.0)
                                            if explained >= MASKED_EXPLAINED_MIN else -120.0)
        played, skipped = (np.asarray(levels[k]) for k in ("played", "skipped"))
        print(f"| {kit} | {played.size} "
              f"| {' / '.join(f'{q:.0f}' for q in np.percentile(played, [5, 25, 50]))}, "
              f"{np.mean(played >= MASKED_FLOOR_DB):.2f} "
              f"| {' / '.join(f'{q:.0f}' for q in np.percentile(skipped, [50, 95]))}, "
              f"{np.mean(skipped >= MASKED_FLOOR_DB):.2f} "
              f"| {' / '.join(f'{np.mean(played >= f):.2f}, {np.mean(skipped >= f):.2f}' for f in floors)} |",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grooves", type=int, default=5)
    parser.add_argument("--fills", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--kits", nargs="+", default=["black_pearl", "red_zeppelin", "gm"])
    parser.add_argument("--play-along", action="store_true",
                        help="how the chart being known changes what the microphone hears")
    parser.add_argument("--masked-levels", action="store_true",
                        help="how loud notes due under other drums' strokes are found, played and "
                             "skipped")
    args = parser.parse_args()
    if args.masked_levels:
        masked_levels(args.kits, args.seconds)
        return
    if args.play_along:
        play_along(args.kits, args.seconds)
        return
    sets = {
        "grooves": [[h for h in read_take(p).hits if h.time_s < args.seconds]
                    for p in sorted((DRUMMER / "eval_session").glob("*.mid"))[:args.grooves]],
        "fills": [list(read_take(p).hits) for p in sorted((DRUMMER / "session1").glob("*fill*.mid"))[:args.fills]],
    }
    voices = sorted({h.voice.value for t in sets.values() for take in t for h in take} & set(CHECKABLE))
    print(f"{args.grooves} grooves x {args.seconds:.0f} s and {args.fills} fills; kit check of "
          f"{', '.join(voices)}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    print("| kit | takes | strokes | plain P / R / F | with the kit check P / R / F "
          "| CPU s per audio s, plain / adapted | cannot tell apart (check CPU s) |")
    print("|---|---|---|---|---|---|---|")
    for kit in args.kits:
        profile, check_cpu = kit_profile(kit, voices)
        confused = ", ".join(f"{a}/{b}" for a, b in profile.confused) or "none"
        for name, takes in sets.items():
            got = score(kit, profile, takes)
            audio_s = sum(max(h.time_s for h in t) + 1.0 for t in takes)
            plain, adapted = got["plain"], got["kit"]
            print(f"| {kit} | {name} | {plain[1]} | {prf(*plain[:3])} | {prf(*adapted[:3])} "
                  f"| {plain[3] / audio_s:.3f} / {adapted[3] / audio_s:.3f} | {confused} ({check_cpu:.1f}) |",
                  flush=True)


if __name__ == "__main__":
    main()
