"""The browser's clock.js computes the same estimate as drumjam.session.clock."""

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from drumjam.session import clock
from drumjam.session.clock import ClockSync

CLOCK_JS = Path(clock.__file__).parents[1] / "web" / "static" / "room" / "clock.js"

SCRIPT = """
import { ClockSync, WINDOW, FAST_FRACTION, MIN_DRIFT_SPAN_MS, DRIFT_SIGNIFICANCE, MAX_DRIFT } from %s;
const trips = JSON.parse(process.argv[1]);
const sync = new ClockSync();
for (const [t0, t1, t2, t3] of trips) sync.add(t0, t1, t2, t3);
console.log(JSON.stringify({ est: sync.est, at: sync.toServer(trips.at(-1)[3]),
  constants: [WINDOW, FAST_FRACTION, MIN_DRIFT_SPAN_MS / 1000, DRIFT_SIGNIFICANCE, MAX_DRIFT] }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the browser module")
@pytest.mark.parametrize("drift", [0.0, 150e-6])
def test_js_and_python_agree(drift):
    rng = random.Random(4)
    trips_ms = []
    sync = ClockSync()
    t = 1_000.0
    for i in range(150):  # more than one window, so both must forget the same samples
        up = 0.015 + rng.uniform(-0.003, 0.003) + (0.2 if i % 17 == 0 else 0.0)
        down = 0.015 + rng.uniform(-0.003, 0.003)
        t1 = (t + up) * (1 + drift) + 37.25
        trip = (t, t1, t1 + 0.0003, t + up + 0.0003 + down)
        sync.add(*trip)
        trips_ms.append([x * 1e3 for x in trip])
        t += 0.5
    out = subprocess.run(
        ["node", "--input-type=module", "-e", SCRIPT % json.dumps(CLOCK_JS.as_uri()),
         json.dumps(trips_ms)],
        capture_output=True, text=True, check=True, timeout=60,
    )
    js = json.loads(out.stdout)
    assert js["constants"] == [clock.WINDOW, clock.FAST_FRACTION, clock.MIN_DRIFT_SPAN_S,
                               clock.DRIFT_SIGNIFICANCE, clock.MAX_DRIFT]
    est = sync.estimate
    assert js["est"]["offsetMs"] == pytest.approx(est.offset_s * 1e3, abs=1e-6)
    assert js["est"]["drift"] == pytest.approx(est.drift, abs=1e-9)
    assert js["est"]["rttMs"] == pytest.approx(est.rtt_s * 1e3, abs=1e-6)
    assert js["est"]["spreadMs"] == pytest.approx(est.spread_s * 1e3, abs=1e-6)
    assert js["at"] == pytest.approx(sync.to_server(trips_ms[-1][3] / 1e3) * 1e3, abs=1e-5)
    assert (est.drift != 0.0) == (drift != 0.0)
