"""Two browsers in two "cities" play a duet through delaying links to one server.

Each player's traffic crosses its own loopback proxy adding 15 ms +- 3 ms one way, with
occasional stalls. The server's clock runs an hour and a half second ahead of the machine's,
so the clients must really find the offset. Hits are scripted at known times on the true
shared clock (converted to each browser's own clock with the true offset, which the test
knows), so the scores measure the system, not the machine's timers.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from netem_proxy import DelayProxy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
        "--disable-dev-shm-usage", "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"]
SERVER_AHEAD_S = 3600.5
ASYNC_MS = 12.0  # B plays this much behind A
CALIBRATION_B_MS = 30.0  # B's kit is this slow; the server removes it
EARLY_FIRST_MS = 30.0  # both play the first beat this early


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    from drumjam.web.app import create_app
    from drumjam.web.room_routes import RoomService

    app = create_app(home=tmp_path_factory.mktemp("room-home"))
    service = RoomService(clock_s=lambda: time.time() + SERVER_AHEAD_S, lead_in_s=4.0,
                          rejoin_grace_s=8.0)
    app.state.rooms = service
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the app did not start"
        time.sleep(0.05)
    yield port, service, app
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/install.sh --test`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


def browser_ahead_ms(page) -> float:
    """How far the page's clock (timeOrigin + now) is ahead of Python's time.time(), in ms,
    bracketed by the narrowest of up to 300 evaluate round trips (on a busy machine a run of
    30 can hold none under 2 ms; one under 0.5 ms ends the search)."""
    best = None
    for _ in range(300):
        before = time.time() * 1e3
        local = page.evaluate("performance.timeOrigin + performance.now()")
        after = time.time() * 1e3
        if best is None or after - before < best[0]:
            best = (after - before, local - (before + after) / 2)
        if best[0] < 0.5:
            break
    width, ahead = best
    assert width < 2.0, f"page round trips too slow to measure the clock ({width:.2f} ms)"
    return ahead


def true_offset_ms(page) -> float:
    """Server clock minus this page's clock."""
    return SERVER_AHEAD_S * 1e3 - browser_ahead_ms(page)


def wait_for(page, expression: str, timeout_s: float):
    """Wait until a JavaScript expression holds (as a function: the app's CSP forbids eval)."""
    page.wait_for_function(f"() => ({expression})", timeout=timeout_s * 1e3)


def test_remote_duet_through_delaying_links(server, browser):
    port, service, app = server
    songs = app.state.jam.library.list()
    song = min(songs, key=lambda s: s.chart.duration_s)
    notes = song.chart.notes
    with DelayProxy(port, seed=11, lifetime_s=240) as link_a, DelayProxy(port, seed=12, lifetime_s=240) as link_b:
        ctx_a, ctx_b, ctx_c = browser.new_context(), browser.new_context(), browser.new_context()
        a, b, c = ctx_a.new_page(), ctx_b.new_page(), ctx_c.new_page()
        outsider_frames: list[str] = []
        page_errors: list[str] = []
        for page in (a, b, c):
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        c.on("websocket", lambda ws: ws.on("framereceived", lambda f: outsider_frames.append(str(f))))
        try:
            # A opens a room in one city ...
            a.goto(f"http://127.0.0.1:{link_a.port}/room/")
            a.select_option("#song", song.id)
            a.fill("#create-name", "Seoul")
            a.click("#create-form button[type=submit]")
            a.wait_for_selector("#join-link")
            wait_for(a, "document.getElementById('join-link').value.includes('#code=')", 10)
            link = a.input_value("#join-link")
            code = link.split("#code=")[1]
            # ... a stranger with a wrong code is refused and opens a room of their own ...
            c.goto(f"http://127.0.0.1:{port}/room/#code={code[:-2]}xx")
            c.fill("#join-name", "Stranger")
            c.click("#join-form button[type=submit]")
            wait_for(c, "!document.getElementById('message').hidden", 10)
            assert "no room has this join code" in c.inner_text("#message")
            c.goto(f"http://127.0.0.1:{port}/room/")
            c.select_option("#song", song.id)
            c.fill("#create-name", "Elsewhere")
            c.click("#create-form button[type=submit]")
            # ... and B joins from the other city with the link
            b.goto(link.replace(str(link_a.port), str(link_b.port)))
            b.fill("#join-name", "Tokyo")
            b.click("#join-form button[type=submit]")
            wait_for(b, "window.drumjamRoom && window.drumjamRoom.client.welcome !== null", 10)

            # one clock: after some seconds of pings both know the server clock within 1 ms
            for page in (a, b):
                wait_for(page, "drumjamRoom.client.clock.ready && drumjamRoom.client.clock.est.samples >= 64", 30)
            offsets = {}
            for name, page in (("A", a), ("B", b)):
                offsets[name] = true_offset_ms(page)
                est = page.evaluate("(() => { const c = drumjamRoom.client.clock; const now = performance.timeOrigin + performance.now();"
                                    " return {offset: c.offsetAt(now), rtt: c.est.rttMs}; })()")
                assert abs(est["offset"] - offsets[name]) < 1.0, (name, est, offsets[name])
                # two legs of 12-18 ms, plus the machine (the page clock is coarsened to 0.1 ms)
                assert 23.5 <= est["rtt"] < 40.0, est
            assert "Tokyo" in a.inner_text("#partner") and "Seoul" in b.inner_text("#partner")

            # B's calibration, then A starts the song for both
            b.fill("#calibration", str(CALIBRATION_B_MS))
            b.dispatch_event("#calibration", "change")
            wait_for(b, f"drumjamRoom.client.settings.calibration_ms === {CALIBRATION_B_MS}", 10)
            wait_for(a, "!document.getElementById('start').disabled", 10)
            a.click("#start")
            for page in (a, b):
                wait_for(page, "drumjamRoom.client.startLocalMs !== null", 10)
            start_ms = a.evaluate("drumjamRoom.client.startMs")
            assert b.evaluate("drumjamRoom.client.startMs") == start_ms
            started = {name: page.evaluate("drumjamRoom.client.startLocalMs") + offsets[name]
                       for name, page in (("A", a), ("B", b))}
            assert abs(started["A"] - started["B"]) < 2.0, started
            assert abs(started["A"] - start_ms) < 1.0 and abs(started["B"] - start_ms) < 1.0

            # scripted hits at known times on the true shared clock, in each browser's own clock;
            # both play the song's first beat (its first note is at 0 s) 30 ms early
            first_s = min(n.time_s for n in notes)

            def script(page, name, late_ms):
                hits = [{"local_ms": start_ms + n.time_s * 1e3 + late_ms - offsets[name]
                         - (EARLY_FIRST_MS if n.time_s == first_s else 0.0),
                         "voice": str(n.voice), "velocity": n.velocity} for n in notes]
                assert page.evaluate("(h) => drumjamRoom.client.scriptHits(h)", hits) == len(notes)

            script(a, "A", 0.0)
            script(b, "B", ASYNC_MS + CALIBRATION_B_MS)

            # B's link drops for 5 s in the middle of the song
            mid_s = song.chart.duration_s * 0.4
            time.sleep(max(0.0, (start_ms / 1e3 - SERVER_AHEAD_S + mid_s) - time.time()))
            link_b.cut(5.0)
            wait_for(b, "!drumjamRoom.client.open", 5)
            time.sleep(5.0)
            wait_for(b, "drumjamRoom.client.open", 10)
            assert b.evaluate("drumjamRoom.client.opens") >= 2

            # the room ends by itself after the song; both get the same duet result
            end_wait_s = song.chart.duration_s + 20
            for page in (a, b):
                wait_for(page, "drumjamRoom.client.result !== null", end_wait_s)
            result = a.evaluate("drumjamRoom.client.result")
            assert b.evaluate("drumjamRoom.client.result") == result
            assert result["mode"] == "duet" and result["absent"] == []
            for player in result["players"]:
                assert player["score"]["matched"] == len(notes)  # no hit lost, none doubled
                assert player["score"]["extra"] == 0
            assert b.evaluate("drumjamRoom.client.unacked.size") == 0
            room = service.registry.get(code)
            assert [len(room.takes_hits(seat)) for seat in room.seats] == [len(notes), len(notes)]
            sync = result["duet"]["sync"]
            assert sync["pairs"] == len(notes)
            assert abs(sync["mean_async_ms"] - (-ASYNC_MS)) < 2.0, sync["mean_async_ms"]
            assert sync["sd_async_ms"] < 2.0

            # A heard B's hits about two one-way delays (2 x 15 ms) after B played them ...
            delay_ms = a.evaluate("drumjamRoom.client.partnerDelays")
            assert 24.0 < float(np.median(delay_ms)) < 100.0  # a busy machine only adds
            # ... except those B played while cut off: resent seconds late, shown but not sounded
            assert a.evaluate("drumjamRoom.client.partner.stale") >= 2
            # A's play screen: every own hit judged in A's lanes, every hit of B's in B's lanes
            assert a.evaluate("drumjamRoom.screen.lanes[0].marks.length") == len(notes)
            assert a.evaluate("drumjamRoom.screen.lanes[1].marks.length") == len(notes)
            assert a.evaluate("drumjamRoom.screen.lanes[0].notes.length") == len(notes)
            a.wait_for_selector("#result:not([hidden])")
            assert "Seoul" in a.inner_text("#result-rows") and "Tokyo" in a.inner_text("#result-rows")
            # a first hit 30 ms early is reported 30 ms early (not clamped to the song's start)
            first_offsets = a.evaluate(f"[...drumjamRoom.client.acks.values()].filter((j) =>"
                                       f" Math.abs(j.target_time_s - {first_s}) < 1e-6).map((j) => j.offset_ms)")
            assert first_offsets and all(abs(o + EARLY_FIRST_MS) < 2.0 for o in first_offsets), first_offsets
            # the duet is in the history with its report, card and both takes as MIDI
            session_id = result["session_id"]
            assert a.get_attribute("#result-link", "href") == f"/results.html?id={session_id}"
            base = f"http://127.0.0.1:{port}/api/history/{session_id}"
            saved = a.request.get(base).json()
            assert [p["name"] for p in saved["results"]["players"]] == ["Seoul", "Tokyo"]
            assert [len(take) for take in saved["takes"]] == [len(notes), len(notes)]
            for path, kind in (("/report.html", "text/html"), ("/card.png", "image/png"),
                               ("/take/0.mid", "audio/midi"), ("/take/1.mid", "audio/midi")):
                answer = a.request.get(base + path)
                assert answer.ok and answer.headers["content-type"].startswith(kind), path

            assert page_errors == []

            # the outsider saw nothing of the duet
            assert outsider_frames, "the outsider's own room sent nothing"
            seen = "\n".join(outsider_frames)
            for secret in ("Seoul", "Tokyo", code, "partner_hit"):
                assert secret not in seen
        finally:
            for ctx in (ctx_a, ctx_b, ctx_c):
                ctx.close()
