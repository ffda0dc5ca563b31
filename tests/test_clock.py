"""The NTP-style clock estimate on synthetic networks with known delays, jitter and drift."""

import random

import pytest

from drumjam.errors import InputError
from drumjam.session.clock import ClockSync, estimate, make_sample


def simulate(
    sync: ClockSync,
    *,
    offset_s: float,
    drift: float = 0.0,
    one_way_s: float = 0.015,
    jitter_s: float = 0.003,
    up_extra_s: float = 0.0,
    stall_every: int = 0,
    n: int = 128,
    period_s: float = 0.5,
    seed: int = 1,
) -> float:
    """Ping ``n`` times through a simulated link; return the client time of the last reply.

    The server clock reads ``client + offset_s + drift * client``; each direction takes
    ``one_way_s`` plus uniform jitter of +-``jitter_s``; every ``stall_every``-th reply is held
    200 ms as after a lost packet.
    """
    rng = random.Random(seed)
    t = 100.0
    for i in range(n):
        up = one_way_s + up_extra_s + rng.uniform(-jitter_s, jitter_s)
        down = one_way_s + rng.uniform(-jitter_s, jitter_s)
        if stall_every and i % stall_every == stall_every - 1:
            down += 0.2
        t0 = t
        server = lambda local: local + offset_s + drift * local
        t1 = server(t0 + up)
        t2 = t1 + 0.0004  # the server's own handling time
        t3 = t0 + up + 0.0004 / (1 + drift) + down
        sync.add(t0, t1, t2, t3)
        t += period_s
    return t3


def test_sample_formula_on_exact_symmetric_trip():
    # client 10.000 -> server gets it at 15.010 (offset 5 s, 10 ms each way), holds 1 ms
    s = make_sample(10.000, 15.010, 15.011, 10.021)
    assert s.offset_s == pytest.approx(5.0, abs=1e-12)
    assert s.delay_s == pytest.approx(0.020, abs=1e-12)
    assert s.local_s == pytest.approx(10.0105)


def errors_ms(n_seeds=40, **link):
    out = []
    for seed in range(n_seeds):
        sync = ClockSync()
        last = simulate(sync, seed=seed, **link)
        drift = link.get("drift", 0.0)
        truth = last + link["offset_s"] + drift * last
        out.append(abs(sync.to_server(last) - truth) * 1e3)
    return sorted(out)


def test_offset_within_1ms_at_15ms_plus_minus_3ms():
    errs = errors_ms(offset_s=-1234.5678)
    assert errs[len(errs) // 2] < 0.4
    assert errs[int(len(errs) * 0.95)] < 1.0
    sync = ClockSync()
    simulate(sync, offset_s=0.0)
    assert 0.024 <= sync.estimate.rtt_s < 0.027  # the fastest of 128 trips over two 12-18 ms legs
    assert sync.estimate.quality == "good"


def test_single_sample_error_is_bounded_by_half_its_delay_but_many_do_better():
    rng = random.Random(7)
    one = []
    for _ in range(200):
        up, down = 0.015 + rng.uniform(-0.003, 0.003), 0.015 + rng.uniform(-0.003, 0.003)
        s = make_sample(0.0, 3.0 + up, 3.0 + up, up + down)
        assert abs(s.offset_s - 3.0) <= s.delay_s / 2 + 1e-12
        one.append(abs(s.offset_s - 3.0))
    many = []
    for seed in range(20):
        sync = ClockSync()
        last = simulate(sync, offset_s=3.0, seed=seed)
        many.append(abs(sync.to_server(last) - last - 3.0))
    assert sorted(many)[10] < sorted(one)[100] / 2


def test_stalls_are_ignored():
    errs = errors_ms(offset_s=42.0, stall_every=5)
    assert errs[int(len(errs) * 0.95)] < 1.0
    sync = ClockSync()
    simulate(sync, offset_s=42.0, stall_every=5)
    # the naive mean of all samples is pulled by the stalled replies
    mean = sum(s.offset_s for s in sync._samples) / len(sync._samples)
    assert abs(mean - 42.0) > 0.005


def test_drift_is_tracked():
    drift = 100e-6  # 100 ppm: 6.4 ms over the 64 s window
    errs = errors_ms(offset_s=7.0, drift=drift)
    assert errs[int(len(errs) * 0.95)] < 1.0
    sync = ClockSync()
    last = simulate(sync, offset_s=7.0, drift=drift)
    assert sync.estimate.drift == pytest.approx(drift, abs=20e-6)
    # server -> local inverts local -> server
    assert sync.estimate.to_local(sync.to_server(last)) == pytest.approx(last, abs=1e-7)
    # ignoring the drift on the same samples leaves an error of about half the window's drift
    flat = estimate(list(sync._samples))
    flat_offset = sorted(s.offset_s for s in sync._samples)[64]
    assert abs(flat_offset + last - (last + 7.0 + drift * last)) > 2e-3
    assert flat.drift != 0.0


def test_no_drift_is_invented():
    sync = ClockSync()
    simulate(sync, offset_s=1.0, seed=11)
    assert sync.estimate.drift == 0.0


def test_asymmetric_path_leaves_half_the_asymmetry():
    # 5 ms more on the way up cannot be seen from round trips: the estimate is off by 2.5 ms
    sync = ClockSync()
    last = simulate(sync, offset_s=0.0, jitter_s=0.0, up_extra_s=0.005)
    assert sync.to_server(last) - last == pytest.approx(0.0025, abs=1e-6)


def test_bad_input_is_refused():
    with pytest.raises(InputError, match="out of order"):
        make_sample(10.0, 1.0, 1.0, 9.0)
    with pytest.raises(InputError, match="finite"):
        make_sample(float("nan"), 1.0, 1.0, 2.0)
    with pytest.raises(InputError, match="not synchronised"):
        ClockSync().to_server(1.0)
    with pytest.raises(InputError, match="no clock samples"):
        estimate([])
