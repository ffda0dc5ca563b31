"""Two kits in one room, player 2 on their own device: two Chromium instances joined to one jam.

Each browser's fake capture device plays its own WAV: the host's is microphone A (0.4 m from
kit A, a kick every 0.5 s), the joined device's microphone B (0.4 m from kit B, a snare every
0.5 s); the two files start whenever each browser opens its microphone, so the kits keep no
phase to each other. The host ticks *Same room*, the join link appears, the second browser
opens it and joins; both measure their audio clocks, a room check of each kit records on both
devices at once (started from either page), the host starts the song, and the joined
page follows it silently and streams player 2's microphone. Each player's marks keep their
own kit (kicks for player 1, snares for player 2) and their own steady phase on the session's
timeline, the joined device's hits mapped from its own audio clock. (The files cannot hold each
other's bleed: they start at unrelated times. Attribution across devices, bleed and all, is
tested over the WebSockets in ``tests/test_room_two_devices.py``.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from drumjam.io.render import render_events
from drumjam.model import Hit, Voice

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
from mic_room import two_mics  # noqa: E402
from test_mic import ARGS, CHROMIUM, _open  # noqa: E402
from test_room_pair_page import KITS, PERIOD_S, SR, _phase, _room_checks  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NO_BLEED_CANCEL = """() => { const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
      const msg = typeof data === 'string' && data.includes('"mic_start"')
        ? JSON.stringify({ ...JSON.parse(data), cancel_bleed: false }) : data;
      return send.call(this, msg); }; }"""


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory) -> tuple[Path, Path]:
    """Microphone A's WAV (kit A's kicks) and microphone B's (kit B's snares)."""
    kick = [Hit(0.25 + PERIOD_S * i, Voice.KICK, 110) for i in range(120)]
    snare = [Hit(0.25 + PERIOD_S * i, Voice.SNARE, 100) for i in range(120)]
    a, _ = render_events(kick, soundfont=KITS[0], sample_rate=SR, mono=True)
    b, _ = render_events(snare, soundfont=KITS[1], sample_rate=SR, mono=True)
    folder = tmp_path_factory.mktemp("devices")
    paths = []
    for k, x in enumerate((a, b)):
        silent = np.zeros_like(x)
        mic = two_mics(*((x, silent) if k == 0 else (silent, x)), sample_rate=SR)[k]
        paths.append(folder / f"mic-{'ab'[k]}.wav")
        sf.write(paths[-1], mic, SR, subtype="PCM_16")
    return paths[0], paths[1]


def _browser(p, wav: Path):
    return p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS + [
        "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={wav}"])


def _marks(page, player: int) -> list[dict]:
    return page.evaluate(f"() => drumjam.screen.lanes[{player}].marks.filter((m) => m.time_s !== null)"
                         ".map((m) => ({ time_s: m.time_s, voice: m.voice }))")


def _host_setup(page) -> str:
    """Two microphone players in one room, player 2 on another device: the join link shown."""
    page.check("#two-players")
    for i, name in enumerate(("Ann", "Ben")):
        page.fill(f"#name-{i}", name)
        page.fill(f"#latency-{i}", "0")
    page.check("#mic-1")
    page.check("#same-room")
    page.wait_for_function("() => document.querySelector('#join-url').textContent.includes('/join.html#code=')")
    return page.inner_text("#join-url")


def _join(browser, url: str):
    """Player 2's device opens the join link and joins (a phone's viewport); the page and its
    script errors."""
    joiner = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    errors: list[str] = []
    joiner.on("pageerror", lambda exc: errors.append(str(exc)))
    joiner.goto(url)
    joiner.wait_for_selector("body[data-ready='1']")
    joiner.click("#join")
    return joiner, errors


def test_a_second_device_joins_and_streams_player_two(jam_server, two_devices) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        host_browser, join_browser = _browser(p, two_devices[0]), _browser(p, two_devices[1])
        page, errors = _open(host_browser, jam_server)
        url = _host_setup(page)
        assert page.get_attribute("#join-qr", "src").startswith("data:image/svg+xml")

        joiner, join_errors = _join(join_browser, url)
        for where, sel in ((joiner, "#link-status"), (page, "#join-status")):
            where.wait_for_function(f"() => document.querySelector('{sel}').textContent.includes('clock synced')",
                                    timeout=30_000)
        page.wait_for_function("() => document.querySelector('#join-status').textContent.includes('joined')")
        assert "Ben" in joiner.inner_text("#player-legend")

        third = join_browser.new_context().new_page()  # a third device is told it cannot join
        third.goto(url)
        third.wait_for_selector("body[data-ready='1']")
        third.click("#join")
        third.wait_for_function("() => document.querySelector('#message').textContent.includes('third device')")

        # the room checks over the link: each device records its own microphone at once
        for who, k in ((page, 0), (joiner, 1)):
            who.click(f"#roomcheck-{k}")
            for where in (page, joiner):
                where.wait_for_function("() => document.querySelector('#message').textContent"
                                        f".includes('Room check stored. {('Ann', 'Ben')[k]}:')", timeout=60_000)
        # the fake files hold no bleed of the other kit (they play at unrelated times): the
        # room's own checks replace what was learned from them
        _room_checks(jam_server)
        page.wait_for_function("() => document.querySelector('#room-info').textContent.includes('later')"
                               " && !document.querySelector('#room-info').textContent.includes('need')")
        for where in (page, joiner):  # the fake devices hear drums, never the speakers
            where.evaluate(NO_BLEED_CANCEL)
        page.click("#start")
        page.wait_for_selector("body[data-mode='playing']", timeout=60_000)
        joiner.wait_for_selector("body[data-mode='playing']", timeout=30_000)
        try:
            for where, k in ((page, 0), (joiner, 1), (page, 1)):
                where.wait_for_function(f"() => drumjam.screen.lanes[{k}].marks.filter((m) => m.time_s !== null)"
                                        ".length >= 20", timeout=240_000)
        except Exception as exc:  # what the pages show, to tell a slow server from a silent one
            raise AssertionError(f"{page.inner_text('#message')} / {joiner.inner_text('#message')}") from exc
        host_marks, joined_marks, forwarded = _marks(page, 0), _marks(joiner, 1), _marks(page, 1)
        assert joiner.evaluate("drumjam.screen.lanes[0].marks.length") == 0  # player 2's block only
        # stop (unless the song ended meanwhile on a busy machine): the joined page is told
        page.evaluate("() => { const stop = document.querySelector('#stop'); if (!stop.disabled) stop.click(); }")
        try:
            joiner.wait_for_function("() => document.querySelector('#message').textContent.includes('song is over')",
                                     timeout=180_000)  # the server may still be behind on a busy machine
        except Exception as exc:
            raise AssertionError(f"{page.url} {page.inner_text('#message')} / {joiner.inner_text('#message')}") from exc
        host_browser.close()
        join_browser.close()
    assert not errors and not join_errors, errors + join_errors
    # each player's marks keep their own kit: kicks for player 1, snares for player 2 (without
    # a kit check the transcriber hears many of kit A's kicks as a kick and a floor tom at once)
    for marks, own, other in ((host_marks, "kick", "snare"), (joined_marks, "snare", "kick"),
                              (forwarded, "snare", "kick")):  # the host sees player 2's too
        strokes: dict[int, set[str]] = {}
        for m in marks:
            strokes.setdefault(round(m["time_s"] / 0.02), set()).add(m["voice"])
        mine = [own in v | strokes.get(t - 1, set()) | strokes.get(t + 1, set()) for t, v in strokes.items()]
        theirs = [other in v for v in strokes.values()]
        assert np.mean(mine) >= 0.75 and np.mean(theirs) <= 0.1, marks  # a few strays allowed
    # and a steady phase on the timeline: the joined device's clock is mapped without drift
    for marks in (host_marks, joined_marks):
        times = np.array([m["time_s"] for m in marks])
        off = (times - _phase(times) + PERIOD_S / 2) % PERIOD_S - PERIOD_S / 2
        assert np.mean(np.abs(off) < 0.015) >= 0.8, np.round(1000 * off)


def test_the_host_page_reloaded_keeps_player_two_joined(jam_server, two_devices) -> None:
    """A reload of the host's page comes back to the same link: the joined device is not asked
    to open a new one."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        host_browser, join_browser = _browser(p, two_devices[0]), _browser(p, two_devices[1])
        page, errors = _open(host_browser, jam_server)
        url = _host_setup(page)
        joiner, join_errors = _join(join_browser, url)
        page.wait_for_function("() => document.querySelector('#join-status').textContent.includes('joined')",
                               timeout=30_000)
        page.reload()
        # (the joined page may show "the host's page left" only for a moment, or not at all:
        # the reloaded page can be back on the link before the server sees the old one close)
        page.wait_for_selector("body[data-ready='1']")
        page.select_option("#song", "slow-funk")
        page.check("#mic-0")
        assert _host_setup(page) == url  # the same link, kept for the page while it reloaded
        page.wait_for_function("() => document.querySelector('#join-status').textContent"
                               ".includes(\"Player 2's device joined\")", timeout=30_000)
        joiner.wait_for_function("() => document.querySelector('#link-status').textContent"
                                 ".includes('the host is here')")
        assert "Ben" in joiner.inner_text("#player-legend")
        host_browser.close()
        join_browser.close()
    assert not errors and not join_errors, (errors, join_errors)
