"""Two kits in one room through one interface, a channel per kit, in Chromium.

Chromium's fake capture device plays a stereo WAV as a two-channel microphone: channel 1 is
microphone A (0.4 m from kit A, which plays a kick every 0.5 s) and channel 2 microphone B
(0.4 m from kit B, a snare every 0.5 s, a quarter period later); each hears the other kit
from 2.6-3.2 m away (:mod:`mic_room`). With both kits' room checks stored, the page streams
channel 1 as player 1's microphone and channel 2 as player 2's: player 1 gets the kicks and
player 2 the snares, not each other's: each player's live marks lie on one phase of the
half-second grid, a quarter period from the other's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from drumjam.io.render import render_events
from drumjam.model import Hit, Voice
from drumjam.session.mic import encode_frame

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
from mic_room import two_mics  # noqa: E402
from test_mic import ARGS, CHROMIUM, _open  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SR = 48000
DEVICE = "Fake Default Audio Input"
KITS = ("black_pearl", "red_zeppelin")
PERIOD_S = 0.5
CHECK = [Voice.KICK, Voice.SNARE, Voice.HIHAT_CLOSED, Voice.TOM_HIGH, Voice.TOM_FLOOR]


@pytest.fixture(scope="module")
def stereo_interface(tmp_path_factory) -> Path:
    kick = [Hit(0.25 + PERIOD_S * i, Voice.KICK, 110) for i in range(120)]
    snare = [Hit(0.5 + PERIOD_S * i, Voice.SNARE, 100) for i in range(120)]
    a, _ = render_events(kick, soundfont=KITS[0], sample_rate=SR, mono=True)
    b, _ = render_events(snare, soundfont=KITS[1], sample_rate=SR, mono=True)
    n = max(a.size, b.size)
    mics = two_mics(np.pad(a, (0, n - a.size)), np.pad(b, (0, n - b.size)), sample_rate=SR)
    path = tmp_path_factory.mktemp("interface") / "two-channels.wav"
    sf.write(path, np.stack(mics, axis=1), SR, subtype="PCM_16")
    return path


def _room_checks(base: str) -> None:
    check = [Hit(0.5 + 0.35 * i, v, 100) for i, v in enumerate(np.repeat(CHECK, 4))]
    for k, (name, kit) in enumerate(zip(("Ann", "Ben"), KITS)):
        alone, _ = render_events(check, soundfont=kit, sample_rate=SR, mono=True)
        silent = np.zeros_like(alone)
        mics = two_mics(*((alone, silent) if k == 0 else (silent, alone)), sample_rate=SR)
        body = b"".join(encode_frame(mics[m], player=m, seq=0, first_frame=0) for m in (k, 1 - k))
        r = httpx.post(f"{base}/api/kitcheck/room", content=body, timeout=120,
                       params={"sample_rate": SR, "name": name, "device": DEVICE, "partner_device": DEVICE})
        assert r.status_code == 200, r.text


def test_one_interface_streams_a_channel_per_kit(jam_server, stereo_interface) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS + [
            "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={stereo_interface}"])
        page, errors = _open(browser, jam_server)
        page.check("#two-players")
        for i, name in enumerate(("Ann", "Ben")):
            page.fill(f"#name-{i}", name)
            page.fill(f"#latency-{i}", "0")
        page.check("#mic-1")
        page.check("#channel-per-kit")
        # without the room checks the page says so and starts nothing
        page.wait_for_function("() => document.querySelector('#room-info').textContent.includes('need the room check')")
        page.click("#start")
        page.wait_for_function("() => document.querySelector('#message').textContent.includes('room check')")
        assert page.evaluate("document.body.dataset.mode") == "idle"
        _room_checks(jam_server)
        page.uncheck("#channel-per-kit")
        page.check("#channel-per-kit")
        page.wait_for_function("() => !document.querySelector('#room-info').textContent.includes('need')"
                               " && document.querySelector('#room-info').textContent.includes('later')")
        # the fake device hears drums, never the page's speakers: no bleed to cancel. Its
        # strokes fall sample-exactly on a grid locked to the song's (every 1.5 s they meet
        # its notes in the same place), which a canceller cannot tell from bleed: cancelling
        # with a pair is tested with strokes as people play them in tests/test_mic_room_pair.py
        page.evaluate("""() => { const send = WebSocket.prototype.send;
            WebSocket.prototype.send = function (data) {
              const msg = typeof data === 'string' && data.includes('"mic_start"')
                ? JSON.stringify({ ...JSON.parse(data), cancel_bleed: false }) : data;
              return send.call(this, msg); }; }""")
        page.click("#start")
        page.wait_for_selector("body[data-mode='playing']", timeout=60_000)
        counts = "[0, 1].map((k) => drumjam.screen.lanes[k].marks.filter((m) => m.time_s !== null).length)"
        try:
            page.wait_for_function(f"() => Math.min(...{counts}) >= 24", timeout=240_000)
        except Exception as exc:  # what the page shows, to tell a slow server from a silent one
            raise AssertionError(f"{page.evaluate(counts)} marks; {page.inner_text('#message')}") from exc
        times = [np.array(t, dtype=float) for t in page.evaluate(
            "[0, 1].map((k) => drumjam.screen.lanes[k].marks.filter((m) => m.time_s !== null).map((m) => m.time_s))")]
        browser.close()
    assert not errors, errors
    # kit A strikes at 0.25 s past every half second of the file, kit B on the half second: on
    # the session's timeline each player's hits keep one phase, a quarter period from the other's
    phases = [_phase(t) for t in times]
    apart = (phases[0] - phases[1]) % PERIOD_S
    assert min(apart, PERIOD_S - apart) == pytest.approx(PERIOD_S / 2, abs=0.01), phases
    for t, phase in zip(times, phases):
        off = (t - phase + PERIOD_S / 2) % PERIOD_S - PERIOD_S / 2
        # each kit's hits go to its player alone: the other kit's strokes are not counted
        assert np.mean(np.abs(off) < 0.03) >= 0.95, np.round(1000 * off)


def _phase(times: np.ndarray) -> float:
    """The phase of most ``times`` modulo the period: their circular mean, then the mean of
    those within 60 ms of it (a stray hit left out)."""
    def circular_mean(t: np.ndarray) -> float:
        return float(np.angle(np.mean(np.exp(2j * np.pi * t / PERIOD_S))) * PERIOD_S / (2 * np.pi))

    phase = circular_mean(times)
    off = (times - phase + PERIOD_S / 2) % PERIOD_S - PERIOD_S / 2
    return circular_mean(times[np.abs(off) < 0.06])
