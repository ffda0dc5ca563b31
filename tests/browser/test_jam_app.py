"""The jam app in Chromium: scripted key presses at known offsets from the chart.

The page's test hook ``drumjam.setSongTime(t)`` fixes the audio clock, so each real key press
(Playwright's keyboard) lands at a known time on the practice timeline.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

# default keys by voice group (see the App section of the README)
KEYS = [
    {"kick": "KeyZ", "snare": "KeyX", "hihat": "KeyC", "hihat_pedal": "KeyF", "tom_high": "KeyA",
     "tom_mid": "KeyS", "tom_floor": "KeyD", "crash": "KeyQ", "ride": "KeyW"},
    {"kick": "KeyM", "snare": "Comma", "hihat": "Period", "hihat_pedal": "Semicolon",
     "tom_high": "KeyJ", "tom_mid": "KeyK", "tom_floor": "KeyL", "crash": "KeyU", "ride": "KeyI"},
]


def _setup(page, song, names):
    page.select_option("#song", song)
    page.fill("#name-0", names[0])
    if len(names) == 2:
        page.check("#two-players")
        page.fill("#name-1", names[1])
    for i in range(len(names)):
        page.fill(f"#latency-{i}", "0")


def _start(page):
    page.click("#start")
    page.wait_for_selector("body[data-mode='playing']")
    return page.evaluate("drumjam.state.plan.notes"), page.evaluate("drumjam.state.groupOf")


def _press(page, player, voice, group_of, time_s):
    page.evaluate(f"drumjam.setSongTime({time_s!r})")
    page.keyboard.press(KEYS[player][group_of[voice]])


def _marks(page, player):
    return page.eval_on_selector_all(
        f"#marks-{player} li", "els => els.map(e => [e.dataset.offsetMs, e.dataset.judgment, e.textContent])")


def _finish(page):
    """Press Stop a moment (0.1 s) after the last hit, as a player would."""
    page.evaluate("drumjam.setSongTime(drumjam.engine.clock.manual + 0.1)")
    page.click("#stop")
    page.wait_for_url("**/results.html?id=*")
    page.wait_for_selector("body[data-ready='1']")


def _cell(page, player, field):
    return float(page.get_attribute(f"#players-table tr[data-player='{player}'] td[data-field='{field}']",
                                    "data-value"))


def test_solo_live_marks_and_results_show_sign_and_size(page):
    _setup(page, "rock-shuffle", ["Solo"])
    notes, group_of = _start(page)
    offsets_ms = [30.0 if i % 2 == 0 else -20.0 for i in range(12)]
    for i, (note, off) in enumerate(zip(notes, offsets_ms)):
        _press(page, 0, note["voice"], group_of, note["time_s"] + off / 1000)
        page.wait_for_function(f"() => document.querySelectorAll('#marks-0 li').length >= {min(i + 1, 12)}"
                               f" && drumjam.screen.lanes[0].marks.length === {i + 1}")
        newest = _marks(page, 0)[0]
        assert float(newest[0]) == pytest.approx(off, abs=2.0)
        assert ("late" if off > 0 else "early") in newest[2]
    running = page.inner_text("#running-0")
    assert "12 hits" in running
    _finish(page)
    assert _cell(page, 0, "matched") == 12
    assert _cell(page, 0, "mean_offset_ms") == pytest.approx(5.0, abs=2.0)
    assert _cell(page, 0, "median_abs_offset_ms") == pytest.approx(25.0, abs=6.0)
    assert page.inner_text("#summary")
    assert page.locator("#downloads a").count() == 4
    card = page.request.get(page.evaluate("document.querySelector('#card').src"))
    assert card.ok and card.headers["content-type"] == "image/png"


def test_duet_on_one_keyboard(page):
    _setup(page, "slow-funk", ["Ann", "Bob"])
    notes, group_of = _start(page)
    for note in notes[:16]:
        _press(page, 0, note["voice"], group_of, note["time_s"] + 0.020)
        _press(page, 1, note["voice"], group_of, note["time_s"] - 0.012)
    page.wait_for_function("() => drumjam.screen.lanes[0].marks.length === 16 && drumjam.screen.lanes[1].marks.length === 16")
    assert all(float(m[0]) == pytest.approx(20, abs=1.5) for m in _marks(page, 0))
    assert all(float(m[0]) == pytest.approx(-12, abs=1.5) for m in _marks(page, 1))
    assert "Ann − Bob +32 ms on average" in page.inner_text("#duet-live")
    _finish(page)
    assert _cell(page, 0, "mean_offset_ms") == pytest.approx(20, abs=1.5)
    assert _cell(page, 1, "mean_offset_ms") == pytest.approx(-12, abs=1.5)
    mean_async = float(page.get_attribute("#duet-figures", "data-mean-async-ms"))
    assert mean_async == pytest.approx(32, abs=1.5)  # A - B: Ann is later
    assert page.locator(".voice-table").count() == 2


def test_calibration_shifts_scores_by_the_measured_offset(page):
    _setup(page, "fast-rock", ["Cal"])
    page.click("#calibrate-0")
    page.wait_for_selector("body[data-mode='calibrating']")
    clicks = page.evaluate("drumjam.state.calibration.clicks")
    for i, t in enumerate(clicks):
        page.evaluate(f"drumjam.setSongTime({t + 0.045 + (0.002 if i % 2 else -0.002)!r})")
        page.keyboard.press("KeyX")
    page.evaluate(f"drumjam.setSongTime({clicks[-1] + 2.0!r})")
    page.wait_for_selector("#calibration-status[data-latency-ms]")
    latency = float(page.get_attribute("#calibration-status", "data-latency-ms"))
    assert latency == pytest.approx(45, abs=2.5)
    assert float(page.input_value("#latency-0")) == pytest.approx(45, abs=3)
    notes, group_of = _start(page)
    for note in notes[:10]:
        _press(page, 0, note["voice"], group_of, note["time_s"] + 0.045)
    page.wait_for_function("() => drumjam.screen.lanes[0].marks.length === 10")
    assert all(abs(float(m[0])) < 4 for m in _marks(page, 0))
    _finish(page)
    assert abs(_cell(page, 0, "mean_offset_ms")) < 3


def test_history_lists_sessions_and_names_stay_text(page, jam_server):
    name = "<img src=x onerror=alert(1)>Zoe"
    _setup(page, "chacarera", [name])
    notes, group_of = _start(page)
    for note in notes[:6]:
        _press(page, 0, note["voice"], group_of, note["time_s"] + 0.010)
    page.wait_for_function("() => drumjam.screen.lanes[0].marks.length === 6")
    assert page.inner_text("#player-name-0") == name
    _finish(page)
    assert page.inner_text("#players-table tr[data-player='0'] .player-name") == name
    assert page.locator("#players-table img").count() == 0
    page.goto(jam_server + "/history.html")
    page.wait_for_selector("#history tbody tr")
    first = page.locator("#history tbody tr").first
    assert first.locator(".players").inner_text() == name
    assert "Chacarera" in first.inner_text()
    assert page.locator("#history tbody img").count() == 0


def test_bad_input_in_the_browser_keeps_everything(page, jam_server, tmp_path):
    before = page.request.get(jam_server + "/api/history").json()
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not music")
    page.set_input_files("#upload-file", str(text_file))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#message:has-text('neither an audio file nor a MIDI file')")
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"ID3" + b"\x00" * 2000)
    page.set_input_files("#upload-file", str(fake))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#message:has-text('fake.mp3')")
    big = tmp_path / "big.ogg"
    big.write_bytes(b"\x00" * 6_000_000)
    page.set_input_files("#upload-file", str(big))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#message:has-text('larger than 5 MB')")
    page.goto(jam_server + "/results.html?id=99999")
    page.wait_for_selector("#message:has-text('no saved session 99999')")
    status = page.evaluate("""async () => (await fetch('/api/sessions', {method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({song_id: 'no-such-song', players: [{name: 'x'}]})})).status""")
    assert status == 404
    after = page.request.get(jam_server + "/api/history").json()
    assert after == before
    assert len(page.request.get(jam_server + "/api/songs").json()) == 5


def test_real_audio_clock_plays_the_slowed_backing(page):
    """Without the test hook: the backing (stretched to 70 % on the server) decodes and plays,
    and the song clock follows the audio clock."""
    page.select_option("#song", "chacarera")
    page.eval_on_selector("#speed", "e => { e.value = 70; e.dispatchEvent(new Event('input')); }")
    assert page.inner_text("#speed-out") == "70 %"
    page.click("#start")
    # while the server stretches the track: a running line says so, and Start stays disabled
    page.wait_for_selector("#progress[data-busy='1']")
    assert "Stretching the backing track to 70 %" in page.inner_text("#progress")
    assert page.locator("#start").is_disabled()
    page.wait_for_selector("body[data-mode='playing']", timeout=150_000)  # a busy machine stretches slowly
    assert page.is_hidden("#progress")
    assert page.evaluate("drumjam.engine.buffers.size") == 1
    assert page.is_hidden("#message")
    plan = page.evaluate("drumjam.state.plan")
    assert plan["beatmap"]["tempo_bpm"] == pytest.approx(157 * 0.7, rel=1e-3)
    first = page.evaluate("drumjam.engine.clock.songTimeNow()")
    page.wait_for_timeout(800)
    second = page.evaluate("drumjam.engine.clock.songTimeNow()")
    assert second - first == pytest.approx(0.8, abs=0.25)
    page.click("#restart")
    page.wait_for_selector("body[data-mode='playing']")
    assert page.evaluate("drumjam.engine.clock.songTimeNow()") < second


def test_midi_kit_and_remapped_keys(page):
    """A kit's MIDI messages (as Web MIDI delivers them) and a remapped key become hits."""
    _setup(page, "slow-funk", ["Kit", "Keys"])
    row = page.locator("#key-table tbody tr", has_text="snare").first
    row.locator("button").nth(1).click()  # player 2's snare
    page.keyboard.press("KeyB")
    assert row.locator("kbd").nth(1).inner_text() == "B"
    notes, group_of = _start(page)
    page.evaluate("drumjam.midi.set(0, 'kit-1', drumjam.state.kitmaps.roland)")
    hihat = next(n for n in notes if group_of[n["voice"]] == "hihat")
    snare = next(n for n in notes if group_of[n["voice"]] == "snare")
    page.evaluate(f"drumjam.setSongTime({hihat['time_s'] + 0.008!r})")
    page.evaluate("drumjam.midi.message('kit-1', {data: [0xB9, 4, 27], timeStamp: performance.now()})")
    page.evaluate("drumjam.midi.message('kit-1', {data: [0x99, 42, 64], timeStamp: performance.now()})")
    page.evaluate(f"drumjam.setSongTime({snare['time_s'] - 0.011!r})")
    page.evaluate("drumjam.midi.message('kit-1', {data: [0x99, 38, 117], timeStamp: performance.now()})")
    page.keyboard.press("KeyB")
    page.wait_for_function("() => drumjam.screen.lanes[0].marks.length === 2 && drumjam.screen.lanes[1].marks.length === 1")
    assert [float(m[0]) for m in _marks(page, 0)] == [pytest.approx(-11, abs=1), pytest.approx(8, abs=1)]
    assert float(_marks(page, 1)[0][0]) == pytest.approx(-11, abs=1)
    _finish(page)
    session_id = page.url.split("id=")[1]
    saved = page.request.get(f"{page.url.split('/results')[0]}/api/history/{session_id}").json()
    kit_take = saved["takes"][0]
    assert [h["voice"] for h in kit_take] == ["hihat_closed", "snare"]
    assert [h["velocity"] for h in kit_take] == [64, 117]
    assert kit_take[0]["hihat_openness"] == pytest.approx(100 / 127, abs=1e-3)
    assert saved["takes"][1][0]["voice"] == "snare"


def test_touch_pads_on_a_phone(chromium, jam_server):
    context = chromium.new_context(viewport={"width": 412, "height": 900}, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(jam_server + "/")
        page.wait_for_selector("body[data-ready='1']")
        page.select_option("#song", "slow-blues-shuffle")
        notes, group_of = _start(page)
        kick = next(n for n in notes if group_of[n["voice"]] == "kick")
        page.evaluate(f"drumjam.setSongTime({kick['time_s'] - 0.020!r})")
        page.locator("#pads-0 .pad[data-voice='kick']").tap()
        page.wait_for_function("() => drumjam.screen.lanes[0].marks.length === 1")
        offset, judgment, text = _marks(page, 0)[0]
        assert float(offset) == pytest.approx(-20, abs=1) and "early" in text and judgment == "great"
    finally:
        context.close()


def test_an_added_songs_beats_are_fixed_by_ear(page, tmp_path):
    """An added recording read at the wrong tempo: doubled, then back to the analysis."""
    from drumjam.library import builtin_dir

    song = tmp_path / "my funk.ogg"
    song.write_bytes((builtin_dir() / "slow-funk" / "backing.ogg").read_bytes())
    page.set_input_files("#upload-file", str(song))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#message:has-text('Added')", timeout=60000)
    assert page.locator("#beatmap-fix").is_visible() and page.locator("#beatmap-reset").is_disabled()
    analysed = int(page.inner_text("#song-info").split(" BPM")[0])
    page.click("#beatmap-fix button:has-text('2× tempo')")
    page.wait_for_selector("#message:has-text('(corrected)')")
    assert int(page.inner_text("#song-info").split(" BPM")[0]) in (2 * analysed - 1, 2 * analysed, 2 * analysed + 1)
    page.click("#beatmap-reset")
    page.wait_for_selector("#message:has-text('(as analysed)')")
    assert int(page.inner_text("#song-info").split(" BPM")[0]) == analysed
    assert page.locator("#beatmap-reset").is_disabled()
    page.select_option("#song", "slow-funk")  # built-in songs have exact beats
    assert page.locator("#beatmap-fix").is_hidden()


def test_a_double_click_on_start_makes_one_session(page):
    """Start is disabled until the page is ready and while a run starts; a double click (and a
    second start from script while the first is under way) makes one session and one socket."""
    sessions, sockets = [], []
    page.on("request", lambda r: sessions.append(r.url) if r.method == "POST" and r.url.endswith("/api/sessions") else None)
    page.on("websocket", lambda ws: sockets.append(ws.url))
    _setup(page, "slow-funk", ["Dee"])
    page.dblclick("#start")
    page.evaluate("drumjam.start()")
    page.wait_for_selector("body[data-mode='playing']")
    assert page.locator("#start").is_disabled()
    page.wait_for_timeout(500)
    assert len(sessions) == 1 and len(sockets) == 1, (sessions, sockets)
    # the play screen fills the window: the setup is out of the way, both buttons in reach
    assert page.locator("#setup").is_hidden() and page.locator("#stop").is_visible()


def test_the_play_screen_fits_a_phone(chromium, jam_server):
    """At 390 px the duet's two lanes, marks and pads stay within the screen's width."""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(jam_server + "/")
        page.wait_for_selector("body[data-ready='1']")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _setup(page, "slow-funk", ["Ann", "Bob"])
        _start(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for i in (0, 1):
            box = page.locator(f"#lanes-{i}").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] >= 100
            assert page.locator(f"#pads-{i} .pad").count() == 10
    finally:
        context.close()


def test_live_accuracy_is_the_results_accuracy(page):
    """One meaning per figure: the running line's accuracy after stopping early is the results
    page's accuracy (notes after the stop are not missed), with a missed note and an extra hit."""
    _setup(page, "slow-funk", ["Eve"])
    notes, group_of = _start(page)
    # the notes up to a gap of more than 0.2 s after the first 3 s: the player stops in the gap
    k = next(i for i in range(len(notes) - 1) if notes[i]["time_s"] > notes[0]["time_s"] + 3.0
             and notes[i + 1]["time_s"] - notes[i]["time_s"] > 0.2)
    played = notes[: k + 1]
    skipped = played[3]
    used = {group_of[n["voice"]] for n in played}
    extra_voice = next(v for v in ("crash", "ride", "tom_floor", "tom_high") if group_of[v] not in used)
    offsets_ms = [25.0, -12.0, 40.0, 3.0]  # the last hit is at most 40 ms late: Stop is in the gap
    last_s = None
    pressed = 0
    for i, note in enumerate(played):
        if note is skipped:
            continue
        last_s = note["time_s"] + abs(offsets_ms[i % 4]) / 1000  # the last one late, so it is due
        _press(page, 0, note["voice"], group_of, note["time_s"] + offsets_ms[i % 4] / 1000)
        pressed += 1
    _press(page, 0, extra_voice, group_of, played[1]["time_s"] + 0.2)
    _press(page, 0, played[-1]["voice"], group_of, last_s)  # its note's second hit: extra
    page.wait_for_function(f"() => drumjam.screen.lanes[0].marks.length === {pressed + 2}")
    live = float(page.get_attribute("#running-0", "data-accuracy-pct"))
    assert f"accuracy {live:.0f} %" in page.inner_text("#running-0")
    _finish(page)
    assert _cell(page, 0, "missed") == 1 and _cell(page, 0, "extra") == 2
    assert "Stopped" in page.inner_text("#summary")  # and the summary says where
    assert _cell(page, 0, "accuracy_pct") == pytest.approx(live, abs=0.05)
    assert live < 90


def _hold_results(page):
    """Route the session's socket through the test: the server's ``result``, and its closing
    the socket after it, are held back (a busy server saving); the rest passes. Returns the
    route's state."""
    held = {"result": None, "page_side": None}

    def route(ws):
        held["page_side"] = ws
        server = ws.connect_to_server()

        def from_server(message):
            if '"type":"result"' in message.replace(" ", ""):
                held["result"] = message
            else:
                ws.send(message)
        server.on_message(from_server)
        server.on_close(lambda code, reason: None)
    page.route_web_socket("**/ws/sessions/**", route)
    return held


def _wait_for_the_save(page, held):
    for _ in range(200):
        if held["result"] is not None:
            return
        page.wait_for_timeout(50)  # the route's handlers run while the page waits
    raise AssertionError("the server never answered the finish")


def test_a_slow_save_is_said_and_the_results_open_when_it_is_done(page):
    held = _hold_results(page)
    _setup(page, "rock-shuffle", ["Slow"])
    notes, group_of = _start(page)
    for note in notes[:4]:
        _press(page, 0, note["voice"], group_of, note["time_s"] + 0.010)
    page.wait_for_function("() => drumjam.screen.lanes[0].marks.length === 4")
    page.evaluate("drumjam.setSongTime(drumjam.engine.clock.manual + 0.1)")
    page.click("#stop")
    page.wait_for_function("() => document.querySelector('#message').textContent.includes('Saving the take')",
                           timeout=10_000)
    assert page.evaluate("document.body.dataset.mode") == "finishing"
    _wait_for_the_save(page, held)  # the server saved it; the page was not told yet
    held["page_side"].send(held["result"])
    page.wait_for_url("**/results.html?id=*")
    page.wait_for_selector("body[data-ready='1']")
    assert _cell(page, 0, "matched") == 4


def test_a_connection_lost_while_saving_is_said_and_the_page_is_usable_again(page, jam_server):
    held = _hold_results(page)
    _setup(page, "rock-shuffle", ["Lost"])
    notes, group_of = _start(page)
    for note in notes[:3]:
        _press(page, 0, note["voice"], group_of, note["time_s"])
    page.wait_for_function("() => drumjam.screen.lanes[0].marks.length === 3")
    page.click("#stop")
    page.wait_for_function("() => document.body.dataset.mode === 'finishing'")
    _wait_for_the_save(page, held)
    held["page_side"].close()
    page.wait_for_function("() => document.body.dataset.mode === 'idle'")
    assert "lost while the take was being saved" in page.inner_text("#message")
    assert not page.is_disabled("#start")
    # the server saved the run before the connection was lost: it is in the history
    page.goto(jam_server + "/history.html")
    page.wait_for_selector("#history tbody tr")
    assert "Lost" in page.locator("#history tbody tr").first.inner_text()
