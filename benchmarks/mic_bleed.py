"""A microphone take under the song's bleed and the page's clicks, calibrated by ear or not.

The built-in slow funk's chart is played 30 ms late on a sampled kit, heard 1 m away in a
small room; the microphone also hears what the page plays (the backing track, a bar of
count-in and a click on every beat) from speakers 1.5 m away through another room, a 40 ms
round trip late, the song about as loud as the drums. The take goes through the server's
path for a microphone player (:class:`drumjam.session.mic.MicInput`: bleed cancelled, the
kit checked, the chart's notes listened for) and is scored like keys. Each kit is played
three times: with headphones (the microphone hears the drums alone; the page does not know, so
the canceller runs), as a first take with nothing learned yet, and after a calibration by ear
through the same speakers and room (its noise bursts' response tried on the count-in and
applied from the song's first note, :func:`drumjam.analysis.bleed.learn_from_calibration`),
and six more times calibrated: the microphone's capture 10 ms later than at the calibration
from the start (a new stream's latency), stepping 10 ms behind, then 10 ms ahead, halfway
through the count-in (between its second and third clicks) and at the song's 5th second (a
dropped or repeated buffer), the microphone's clock running 100 ppm fast against the
speakers' (:mod:`drumjam.analysis.slips`), and the speakers turned down (or up) 6 dB at the
song's 3rd second, mid-take.
Printed per kit and set-up: notes matched (soft ones, velocity < 40, apart), hits matching no
note and how many of those lie on a click (within 30 ms), how much of the page's sound in
the microphone the canceller removed from the song's 7th second on (two seconds after a slip),
and the median offset of the notes matched from the 5th second on (30 ms late and the few ms
the kit's strokes take to sound).

    python benchmarks/mic_bleed.py [--seconds 10] [--kits black_pearl red_zeppelin gm] [--only TEXT]

``--only`` runs the set-ups whose description contains TEXT (e.g. ``--only speakers``).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from drumjam.analysis.bleed import learn_from_calibration
from drumjam.analysis.kitprofile import KitProfile
from drumjam.analysis.roomresponse import RoomResponse
from drumjam.analysis.roundtrip import calibration_clicks
from drumjam.io.audio import load_audio
from drumjam.io.midi import read_chart
from drumjam.io.render import render_events
from drumjam.library import builtin_dir
from drumjam.model import Hit
from drumjam.session.live import LiveSession, Player
from drumjam.session.mic import MicFrame, MicInput
from drumjam.session.playback import Played, click_schedule, played_reference
from drumjam.session.practice import Practice, PracticePlan, plan_practice
from kitcheck import CHECKABLE, SOFT_VELOCITY, _rms, kit_profile, room

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from mic_room import slipped  # noqa: E402

SR = 48000
FRAME = SR // 50
ROUND_TRIP_S = 0.040
LATE_S = 0.030
ON_CLICK_S = 0.03
#: The capture slips (where it does mid-take) this far into the song, in seconds ...
SLIP_AT_S = 5.0
#: ... or, in the count-in, this share of it in (between its second and third clicks).
COUNT_IN_SLIP_AT = 0.375
#: The page's sound in the microphone against the drums' (RMS).
BLEED_DB = 0.0
#: The speakers are turned up or down (where a set-up does) this far into the song, in seconds.
VOLUME_AT_S = 3.0


def _delayed(x: np.ndarray, n: int) -> np.ndarray:
    lag = int(round(ROUND_TRIP_S * SR))
    return np.concatenate([np.zeros(lag, np.float32), x.astype(np.float32)])[:n]


@dataclass(frozen=True)
class Take:
    """One kit's take of the song: the microphone, what the page played, the kit check, and
    the calibration by ear through the same speakers and room."""

    plan: PracticePlan
    played: Played
    mic: np.ndarray
    headphones: np.ndarray
    profile: KitProfile
    calibration: RoomResponse
    end_s: float


def make_take(kit: str, seconds: float) -> Take:
    """The slow funk's first ``seconds`` on ``kit`` as the microphone hears it."""
    chart = read_chart(builtin_dir() / "slow-funk" / "chart.mid")
    plan = plan_practice(chart, chart.beatmap, Practice())
    song, _ = load_audio(builtin_dir() / "slow-funk" / "backing.ogg", sample_rate=SR)
    played = played_reference(plan, song, sample_rate=SR, count_in_bars=1, beat_clicks=True)
    end_s = plan.lead_in_s + seconds
    notes = [n for n in plan.chart.notes if plan.lead_in_s <= n.time_s < end_s]
    take = [Hit(n.time_s + LATE_S, n.voice, n.velocity) for n in notes]
    drums = room(render_events(take, soundfont=kit, sample_rate=SR, mono=True)[0])
    n = drums.size + SR
    drums = np.concatenate([drums, np.zeros(SR, np.float32)])
    page = played.backing.samples(0, n) + played.clicks.samples(0, n)
    speakers = room(page, seed=11)
    gain = _rms(drums) / _rms(speakers) * 10 ** (BLEED_DB / 20)
    bursts, _ = calibration_clicks(sample_rate=SR)
    # the bursts through the same speakers and room, at the level the song plays at
    heard = _delayed(room(np.concatenate([bursts, np.zeros(SR, np.float32)]), seed=11), bursts.size + SR)
    recorded = heard * gain * float(np.max(np.abs(page)) / np.max(np.abs(bursts)))
    calibration = learn_from_calibration(bursts, recorded, sample_rate=SR,
                                         round_trip_s=ROUND_TRIP_S).applied()
    profile, _ = kit_profile(kit, sorted({nt.voice.value for nt in notes} & set(CHECKABLE)))
    return Take(plan, played, _delayed(drums + gain * speakers, n), _delayed(drums, n), profile,
                calibration, end_s)


def _drifted(x: np.ndarray, ppm: float) -> np.ndarray:
    """``x`` as a microphone whose clock runs ``ppm`` fast hands it on."""
    if not ppm:
        return x
    n = np.arange(x.size)
    return np.interp(n / (1 + ppm * 1e-6), n, x).astype(np.float32)


def run_take(take: Take, *, calibrated: bool = False, headphones: bool = False,
             slip_ms: float = 0.0, slip_at: str = "take", drift_ppm: float = 0.0,
             volume_db: float = 0.0) -> dict[str, int]:
    """The take through a microphone player's stream (the microphone hearing no song with
    ``headphones``, its capture slipping by ``slip_ms`` at :data:`SLIP_AT_S` into the song,
    ``slip_at`` "take", in the count-in (:data:`COUNT_IN_SLIP_AT`) or from the "start", its
    clock ``drift_ppm`` fast, the speakers turned ``volume_db`` up at :data:`VOLUME_AT_S` into
    the song): matched, soft and extra counts."""
    plan = take.plan
    if volume_db:
        gain = np.ones(take.mic.size, np.float32)
        gain[int((plan.lead_in_s + VOLUME_AT_S + ROUND_TRIP_S) * SR):] = 10 ** (volume_db / 20)
        take = replace(take, mic=take.headphones + gain * (take.mic - take.headphones))
    slip_at_s = {"start": -ROUND_TRIP_S, "count-in": COUNT_IN_SLIP_AT * plan.lead_in_s,
                 "take": plan.lead_in_s + SLIP_AT_S}[slip_at]
    slip_at = int((slip_at_s + ROUND_TRIP_S) * SR)
    slip = int(round(slip_ms * SR / 1000))
    drums = _drifted(slipped(take.headphones, slip, at=slip_at), drift_ppm)
    session = LiveSession([Player("Kit", 1000 * ROUND_TRIP_S)], plan.beatmap, plan.chart,
                          start_s=plan.lead_in_s)
    cleaned: list[np.ndarray] = []
    stream = MicInput(partial(session.add_hit, 0), sample_rate=SR, timeline_zero_frame=0,
                      tap=lambda _at, x: cleaned.append(x.copy()),
                      round_trip_s=ROUND_TRIP_S, played=take.played, kit=take.profile,
                      earlier_bleed=take.calibration if calibrated else None,
                      expected=[(nt.time_s, nt.voice) for nt in plan.chart.notes])
    mic = drums if headphones else _drifted(slipped(take.mic, slip, at=slip_at), drift_ppm)
    for i in range(0, mic.size, FRAME):
        stream.feed(MicFrame(0, 0, i, mic[i:i + FRAME]))
    stream.end()
    score = session.finish(stop_s=take.end_s).scores[0]
    due = [i for i, nt in enumerate(plan.chart.notes) if plan.lead_in_s <= nt.time_s < take.end_s]
    missed = set(score.missed) & set(due)
    soft = {i for i in due if plan.chart.notes[i].velocity < SOFT_VELOCITY}
    clicks = np.array([c.time_s for c in click_schedule(
        plan.beatmap.beats_s, plan.beatmap.downbeats_s, meter=plan.beatmap.meter,
        first_s=plan.lead_in_s, end_s=plan.duration_s, count_in_bars=1)])
    extra = [h for h in score.hits if h.target_index is None]
    # on the timeline the round trip is taken off: a click heard as a stroke lies on the click
    on_clicks = sum(1 for h in extra if np.min(np.abs(clicks - h.time_s)) < ON_CLICK_S)
    # what the canceller left of the song and the clicks, from two seconds after a slip on
    # (to the end of what was heard: a capture ahead ends early, padded with silence)
    later = slice(int((plan.lead_in_s + SLIP_AT_S + 2.0) * SR), mic.size - max(0, -slip))
    left = np.concatenate(cleaned)[later] - drums[later]
    bleed = (mic - drums)[later]
    removed_db = (10 * np.log10(np.sum(bleed ** 2) / np.sum(left ** 2)) if bleed.any() else None)
    offsets_ms = [h.offset_ms for h in score.hits
                  if h.target_index is not None and h.time_s >= plan.lead_in_s + SLIP_AT_S]
    return {"notes": len(due), "soft": len(soft), "matched": len(due) - len(missed),
            "soft_matched": len(soft - missed), "extra": len(extra), "on_clicks": on_clicks,
            "removed_db": removed_db, "offset_ms": float(np.median(offsets_ms))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--kits", nargs="+", default=["black_pearl", "red_zeppelin", "gm"])
    parser.add_argument("--only", default="", help="the set-ups whose description contains this")
    args = parser.parse_args()
    print(f"The slow funk's first {args.seconds:.0f} s, 30 ms late; its song and clicks "
          f"{BLEED_DB:+.0f} dB against the drums; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}\n")
    print("| kit | set-up | notes matched (soft) | extra hits (on the clicks) | bleed removed "
          "| offset from 5 s (median) |")
    print("|---|---|---|---|---|---|")
    cal = {"calibrated": True}
    setups = {
        "headphones, nothing learned": {"headphones": True},
        "first take, nothing learned": {},
        "calibrated by ear": cal,
        "calibrated, capture 10 ms later from the start":
            {**cal, "slip_ms": 10.0, "slip_at": "start"},
        "calibrated, capture 10 ms behind in the count-in":
            {**cal, "slip_ms": 10.0, "slip_at": "count-in"},
        "calibrated, capture 10 ms ahead in the count-in":
            {**cal, "slip_ms": -10.0, "slip_at": "count-in"},
        "calibrated, capture 10 ms behind at 5 s": {**cal, "slip_ms": 10.0},
        "calibrated, capture 10 ms ahead at 5 s": {**cal, "slip_ms": -10.0},
        "calibrated, microphone's clock 100 ppm fast": {**cal, "drift_ppm": 100.0},
        "calibrated, speakers turned down 6 dB at 3 s": {**cal, "volume_db": -6.0},
        "calibrated, speakers turned up 6 dB at 3 s": {**cal, "volume_db": 6.0},
    }
    for kit in args.kits:
        take = make_take(kit, args.seconds)
        for said, setup in setups.items():
            if args.only not in said:
                continue
            r = run_take(take, **setup)
            print(f"| {kit} | {said} | {r['matched']} / {r['notes']} ({r['soft_matched']} / {r['soft']}) "
                  f"| {r['extra']} ({r['on_clicks']}) "
                  f"| {'–' if r['removed_db'] is None else format(r['removed_db'], '.1f') + ' dB'} "
                  f"| {r['offset_ms']:+.1f} ms |", flush=True)


if __name__ == "__main__":
    main()
