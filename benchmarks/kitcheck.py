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
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import mir_eval
import numpy as np

from drumjam.analysis.kitprofile import KitTranscriber, check_kit
from drumjam.analysis.transcribe import DrumTranscriber
from drumjam.io.midi import read_take
from drumjam.io.render import render_events
from drumjam.model import Hit, voice_group

SR = 48000
BLOCK = SR // 50
PROMPT_S = 3.0
WINDOW_S = 0.03
DRUMMER = Path(__file__).resolve().parents[2] / "shared/data/groove-midi/drummer1"
CHECKABLE = ("kick", "snare", "hihat_closed", "hihat_open", "hihat_pedal", "tom_high", "tom_mid",
             "tom_floor", "crash", "ride", "ride_bell", "side_stick")


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


def matched(truth: list[Hit], found: list[Hit]) -> int:
    """Hits within 30 ms of a played stroke of their voice group, one to one."""
    n = 0
    for group in {voice_group(h.voice) for h in truth}:
        ref = np.array([h.time_s for h in truth if voice_group(h.voice) == group])
        est = np.array([h.time_s for h in found if voice_group(h.voice) == group])
        n += len(mir_eval.util.match_events(ref, est, WINDOW_S)) if est.size else 0
    return n


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grooves", type=int, default=5)
    parser.add_argument("--fills", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--kits", nargs="+", default=["black_pearl", "red_zeppelin", "gm"])
    args = parser.parse_args()
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
        check = [Hit(i * PROMPT_S + 0.6 + 0.5 * k, v, 70 + 15 * k) for i, v in enumerate(voices)
                 for k in range(4)]
        x, _ = render_events(check, soundfont=kit, sample_rate=SR, mono=True)
        cpu0 = time.process_time()
        profile = check_kit(room(x), [(v, i * PROMPT_S, (i + 1) * PROMPT_S) for i, v in enumerate(voices)],
                            sample_rate=SR)
        check_cpu = time.process_time() - cpu0
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
