"""A remote duet with a microphone player in Chromium: one page plays keys, the other ticks
Microphone, whose fake capture device is a kick or a snare every 0.5 s on the AVL Black Pearl
kit. Once the song starts, the microphone's frames go over the room's connection: the server
hears the strokes on one 0.5 s grid on the room's timeline (stamped on the page's audio clock),
the player sees them judged live and the partner sees them arrive.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_mic import ARGS as MIC_ARGS  # noqa: E402
from test_mic import PERIOD_S, fake_mic  # noqa: E402,F401 (a fixture)
from test_remote_duet import ARGS, CHROMIUM, server, wait_for  # noqa: E402,F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_microphone_player_in_a_remote_duet(server, fake_mic) -> None:
    from playwright.sync_api import sync_playwright

    port, _, app = server
    base = f"http://127.0.0.1:{port}"
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/install.sh --test`")
    song = min(app.state.jam.library.list(), key=lambda s: s.chart.duration_s)
    errors: list[str] = []
    with sync_playwright() as p:
        keys = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        kit = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS + MIC_ARGS + [
            "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={fake_mic}"])
        a, b = keys.new_page(), kit.new_page()
        for page in (a, b):
            page.on("pageerror", lambda exc: errors.append(str(exc)))
        said: list[str] = []  # what the server told B of its microphone, and refusals
        b.on("websocket", lambda ws: ws.on("framereceived", lambda f: said.append(str(f)) if (
            '"type":"error"' in str(f) or "mic_status" in str(f)) else None))
        a.goto(f"{base}/room/")
        a.select_option("#song", song.id)
        a.click("#create-form button[type=submit]")
        wait_for(a, "document.getElementById('join-link').value.includes('#code=')", 10)
        b.goto(a.input_value("#join-link"))
        b.click("#join-form button[type=submit]")
        wait_for(b, "window.drumjamRoom && drumjamRoom.client.welcome !== null", 10)
        b.check("#mic")
        wait_for(b, "!document.getElementById('by-ear').hidden", 10)
        # the fake capture device hears drums, never the page's speakers: no bleed to cancel
        # (cancellation is tested in test_mic_click.py and test_mic_room_remote.py), and a
        # click response learned from drums struck with the count-in would add strokes
        b.evaluate("""() => { const c = drumjamRoom.client, send = c.send.bind(c);
            c.send = (msg) => send(msg.type === 'mic_start' ? { ...msg, cancel_bleed: false } : msg); }""")
        wait_for(a, "!document.getElementById('start').disabled", 30)
        a.click("#start")
        # B's strokes are judged on B's play screen and arrive on A's as the partner's
        try:
            wait_for(b, "drumjamRoom.screen.lanes[0] && drumjamRoom.screen.lanes[0].marks.length >= 20", 120)
        except Exception as exc:  # say what the page said
            raise AssertionError(said[:5] or b.inner_text("#message")) from exc
        wait_for(a, "drumjamRoom.screen.lanes[1] && drumjamRoom.screen.lanes[1].marks.length >= 20", 30)
        message = b.inner_text("#message")
        keys.close()
        kit.close()
    assert not errors, errors
    room = app.state.rooms.registry.rooms()[0]
    heard = [h for h in room.seats[1].mic_hits if h is not None]
    assert len(heard) >= 20, message
    times = np.array([h.time_s for h in heard if h.voice.value in ("kick", "snare")])
    phase = np.angle(np.mean(np.exp(2j * np.pi * times / PERIOD_S))) * PERIOD_S / (2 * np.pi)
    residual_ms = 1000 * ((times - phase + PERIOD_S / 2) % PERIOD_S - PERIOD_S / 2)
    residual_ms -= np.median(residual_ms[np.abs(residual_ms) < 20.0])
    # the frames carry their audio-clock frames over the room's connection: one grid within
    # 2.5 ms (stamped on arrival, network and scheduling would scatter them by tens of ms; a
    # stray detection aside)
    assert np.mean(np.abs(residual_ms) < 2.5) >= 0.8, [(round(h.time_s, 3), h.voice.value)
                                                       for h in heard]
