"""The rooms' clock sync under absurd round trips: stamps that are not numbers or come back
before they left (the browser's clock.js ignores them, as the server's refuses them), a clock
that jumps by hours (both follow it within STEP_CONFIRM round trips), a lone wild one (ignored)."""

import json
import shutil
import subprocess

import pytest

from drumjam.session import clock
from drumjam.session.clock import STEP_CONFIRM, ClockSync
from test_clock_js import CLOCK_JS

HOURS_S = 3 * 3600.0
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")


def trips(n: int, *, start_s: float = 1000.0, offset_s: float = 37.25, jump_at: int | None = None,
          jump_s: float = HOURS_S, period_s: float = 1.0) -> list[tuple[float, float, float, float]]:
    """Round trips (t0, t1, t2, t3) of 15 ms each way; from ``jump_at`` on the client's clock
    reads ``jump_s`` more (it slept, and its clock stood still meanwhile: server minus client
    grows by ``jump_s``)."""
    out = []
    for i in range(n):
        t = start_s + i * period_s
        off = offset_s + (jump_s if jump_at is not None and i >= jump_at else 0.0)
        up, down = 0.015 + 0.001 * (i % 3), 0.015 + 0.001 * (i % 2)
        t1 = t + up + off
        out.append((t, t1, t1 + 0.0003, t + up + 0.0003 + down))
    return out


def test_a_clock_that_jumps_by_hours_is_followed_within_a_few_round_trips():
    """A client clock 3 h off after a sleep: the estimate kept the old offset until the old
    round trips were half out of the window (64 pings, over a minute; a room's hits meanwhile
    3 h off, refused), now after STEP_CONFIRM."""
    sync = ClockSync()
    before = trips(40)
    after = trips(40 + STEP_CONFIRM, jump_at=40)[40:]
    for trip in before + after:
        sync.add(*trip)
    assert sync.estimate.offset_s == pytest.approx(37.25 + HOURS_S, abs=0.002)
    assert sync.estimate.samples == STEP_CONFIRM
    # and back
    for trip in trips(STEP_CONFIRM, start_s=2000.0):
        sync.add(*trip)
    assert sync.estimate.offset_s == pytest.approx(37.25, abs=0.002)


def test_one_wild_round_trip_or_a_stall_moves_nothing():
    sync = ClockSync()
    for trip in trips(40):
        sync.add(*trip)
    kept = sync.estimate
    wild = trips(41, jump_at=40)[40]
    sync.add(*wild)
    sync.add(*trips(42)[41])
    t0 = 1042.0
    stalled = (t0, t0 + 0.015 + 37.25, t0 + 0.0153 + 37.25, t0 + 0.0153 + 0.9)  # 900 ms back
    for _ in range(STEP_CONFIRM + 1):
        sync.add(*stalled)
    assert sync.estimate.offset_s == pytest.approx(kept.offset_s, abs=1e-9)
    assert sync.estimate.samples == 40 + 2 + STEP_CONFIRM + 1


SCRIPT = """
import { ClockSync, STEP_MIN_MS, STEP_CONFIRM } from %s;
const { trips, bad } = JSON.parse(process.argv[1]);
const sync = new ClockSync();
for (const [t0, t1, t2, t3] of trips) sync.add(t0, t1, t2, t3);
const good = JSON.stringify(sync.est);
const ignored = bad.map(([t0, t1, t2, t3]) => JSON.stringify(sync.add(t0, t1, t2, t3)) === good);
console.log(JSON.stringify({ est: sync.est, ignored, constants: [STEP_MIN_MS / 1000, STEP_CONFIRM] }));
"""


@needs_node
def test_the_browser_follows_the_jump_as_the_server_does_and_ignores_absurd_pongs():
    """clock.js took a pong with a missing or NaN stamp, or one back before it left, as a round
    trip: its round-trip time became null (sent to the partner as rtt_ms: refused every 3 s)
    or 0 (the fastest, the most trusted); now such a pong is ignored."""
    sent = trips(40) + trips(40 + STEP_CONFIRM, jump_at=40)[40:]
    sync = ClockSync()
    for trip in sent:
        sync.add(*trip)
    t = 1100.0
    bad = [[t, None, None, t + 0.03], [t, "NaN", 1.0, t + 0.03], [t, t + 37.3, t + 37.3, t - 0.05],
           [t, t + 37.3, t + 36.0, t + 0.03], [t, 1e309, 1e309, t + 0.03]]
    ms = lambda rows: [[None if x is None else x * 1e3 if isinstance(x, float) else x for x in r]
                       for r in rows]
    out = subprocess.run(
        ["node", "--input-type=module", "-e", SCRIPT % json.dumps(CLOCK_JS.as_uri()),
         json.dumps({"trips": ms(sent), "bad": ms(bad)}).replace("Infinity", "1e309")],
        capture_output=True, text=True, check=True, timeout=60)
    js = json.loads(out.stdout)
    assert js["constants"] == [clock.STEP_MIN_S, clock.STEP_CONFIRM]
    assert js["est"]["offsetMs"] == pytest.approx(sync.estimate.offset_s * 1e3, abs=1e-6)
    assert js["est"]["samples"] == sync.estimate.samples == STEP_CONFIRM
    assert js["est"]["rttMs"] == pytest.approx(sync.estimate.rtt_s * 1e3, abs=1e-6)
    assert js["ignored"] == [True] * len(bad)
