"""Two acoustic kits in one room, across rooms, kit pairs and duets.

Two drummers' takes of one Groove MIDI groove (the eval sessions, where several drummers
played the same grooves) are rendered on two sampled kits and mixed into two microphones,
each near its own kit, with 1/r loudness, flight delay, a room's reverb and a noise floor
(``tests/mic_room.py``). Each kit's check (every drum four times, the kit alone) teaches how
the other microphone hears it (:func:`drumjam.analysis.kitcheck.learn_kit`); every hit each
microphone's transcription finds is then given to a kit
(:func:`drumjam.analysis.kitcheck.attribute`), as a room pair session does.

Printed per room, kit pair and duet: the strokes found (hits of either kit within 25 ms of a
stroke of the same voice group, of its own take or the partner's, per stroke played), the
share of those that went to the right kit (a hit of a kit's output that is the partner's
stroke is wrong), each player's mean offset
and the duet's mean asynchrony against the truth (the takes as the kits sound them; the
microphone's own distance to its kit, 1.2 ms at 0.4 m and 2.9 ms at 1 m, is in the error).

With ``--kit-checked`` each microphone's stream also takes its kit check's profile (input
gain, thresholds, the kit's drums: :class:`drumjam.analysis.kitprofile.KitTranscriber`), as a
microphone player whose kit was checked.

    python benchmarks/two_kits.py [--seconds 20] [--kit-checked]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


from drumjam.io.midi import read_take
from drumjam.model import Take
from drumjam.scoring import analyse_duet, score_take

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from mic_room import duet_in_room, flight_s, near  # noqa: E402

GROOVES = ROOT.parent / "shared" / "data" / "groove-midi"
DUETS = (
    ("drummer1/eval_session/2_funk-groove2_105_beat_4-4.mid",
     "drummer7/eval_session/2_funk-groove2_105_beat_4-4.mid"),
    ("drummer5/eval_session/3_soul-groove3_86_beat_4-4.mid",
     "drummer7/eval_session/3_soul-groove3_86_beat_4-4.mid"),
    ("drummer1/eval_session/7_pop-groove7_138_beat_4-4.mid",
     "drummer5/eval_session/7_pop-groove7_138_beat_4-4.mid"),
)
KIT_PAIRS = (("black_pearl", "red_zeppelin"), ("red_zeppelin", "gm"), ("gm", "black_pearl"))
#: name: (metres from microphone A to kits A and B, from B to A and B; RT60 in seconds)
ROOMS: dict[str, tuple[tuple[tuple[float, float], ...], float]] = {
    "mics 0.4 m from their kits, kits 3 m apart, RT60 0.5 s (the tests' room)":
        (((0.4, 3.2), (2.6, 0.4)), 0.5),
    "kits 1.5 m apart": (((0.4, 1.6), (1.4, 0.4)), 0.5),
    "mics 1 m from their kits": (((1.0, 3.2), (2.8, 1.0)), 0.5),
    "a live room, RT60 1 s": (((0.4, 3.2), (2.6, 0.4)), 1.0),
}


def run(duet: tuple[str, str], kits: tuple[str, str], distances_m: tuple[tuple[float, float], ...],
        rt60_s: float, seconds: float, checked: bool) -> dict[str, float]:
    """One duet in one room on one kit pair: strokes found, right kit, offset errors."""
    takes = [read_take(GROOVES / p) for p in duet]
    takes = [Take(tuple(h for h in t.hits if h.time_s < seconds), player=t.player, beatmap=t.beatmap)
             for t in takes]
    room = duet_in_room(takes, kits, distances_m=distances_m, rt60_s=rt60_s, checked=checked)
    truth, found, right, wrong = room["truth"], room["found"], room["right"], room["wrong"]
    beatmap = truth[0].beatmap
    heard = [Take(tuple(h), player=t.player, beatmap=beatmap) for h, t in zip(found, truth)]
    # the truth of the strokes found: what the errors would be if only those had been played
    subset = [Take(tuple(s for s in t.hits
                         if any(near(h, Take((s,)), flight_s(k, k, distances_m)) for h in found[k])),
                   player=t.player, beatmap=beatmap)
              for k, t in enumerate(truth)]

    def offset_ms(take: Take) -> float:
        return score_take(take, grid=16, beatmap=beatmap).to_dict()["mean_offset_ms"]

    def async_ms(pair: list[Take]) -> float:
        return analyse_duet(*pair, grid=16, beatmap=beatmap).mean_async_ms

    return {"strokes": sum(len(t.hits) for t in truth), "right": right, "wrong": wrong,
            "offset_a": abs(offset_ms(heard[0]) - offset_ms(truth[0])),
            "offset_b": abs(offset_ms(heard[1]) - offset_ms(truth[1])),
            "async": abs(async_ms(heard) - async_ms(truth)),
            "found_offset": max(abs(offset_ms(h) - offset_ms(s)) for h, s in zip(heard, subset)),
            "found_async": abs(async_ms(heard) - async_ms(subset))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="of each take")
    parser.add_argument("--kit-checked", action="store_true", help="transcribe with each kit's profile")
    args = parser.parse_args()
    print(f"{len(DUETS)} duets x {args.seconds:.0f} s, {len(KIT_PAIRS)} kit pairs, {len(ROOMS)} rooms, "
          f"{'kits checked' if args.kit_checked else 'plain transcription'}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    print("| room | kits | duet | strokes found | right kit | offset error A / B ms | asynchrony error ms "
          "| on the strokes found: offset error (larger), asynchrony error ms |")
    print("|---|---|---|---|---|---|---|---|")
    summary = []
    cpu0 = time.process_time()
    for room, (distances_m, rt60_s) in ROOMS.items():
        rows = []
        for kits in KIT_PAIRS:
            for duet in DUETS:
                r = run(duet, kits, distances_m, rt60_s, args.seconds, args.kit_checked)
                rows.append(r)
                found = r["right"] + r["wrong"]
                print(f"| {room} | {kits[0]} / {kits[1]} | {Path(duet[0]).stem.split('_')[1]} "
                      f"| {found / r['strokes']:.2f} | {r['right'] / max(found, 1):.3f} "
                      f"| {r['offset_a']:.1f} / {r['offset_b']:.1f} | {r['async']:.1f} "
                      f"| {r['found_offset']:.1f}, {r['found_async']:.1f} |", flush=True)
        summary.append((room, rows))
    print(f"\nCPU {time.process_time() - cpu0:.0f} s\n")
    print("| room | right kit, lowest / pooled | offset error ms, largest | asynchrony error ms, largest "
          "| runs within the aims (≥ 95 % right, ≤ 3 ms) "
          "| on the strokes found: largest offset, asynchrony error ms |")
    print("|---|---|---|---|---|---|")
    for room, rows in summary:
        shares = [r["right"] / max(r["right"] + r["wrong"], 1) for r in rows]
        pooled = sum(r["right"] for r in rows) / max(sum(r["right"] + r["wrong"] for r in rows), 1)
        offsets = max(max(r["offset_a"], r["offset_b"]) for r in rows)
        asyncs = max(r["async"] for r in rows)
        ok = sum(s >= 0.95 and max(r["offset_a"], r["offset_b"], r["async"]) <= 3.0
                 for s, r in zip(shares, rows))
        print(f"| {room} | {min(shares):.3f} / {pooled:.3f} | {offsets:.1f} | {asyncs:.1f} "
              f"| {ok} of {len(rows)} "
              f"| {max(r['found_offset'] for r in rows):.1f}, {max(r['found_async'] for r in rows):.1f} |")


if __name__ == "__main__":
    main()
