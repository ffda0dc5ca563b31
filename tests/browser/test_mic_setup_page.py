"""The microphone setup on the play page in Chromium, its microphone a fake capture device
playing a rendered kit check (AVL Black Pearl): the round trip stored for the player and that
device fills their latency, and the kit check prompts drum by drum, learns every drum and
says which it cannot tell apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from drumjam.analysis.roundtrip import calibration_clicks
from drumjam.io.render import render_events
from drumjam.model import Hit, Voice
from drumjam.session.mic import encode_frame

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
        "--autoplay-policy=no-user-gesture-required", "--disable-dev-shm-usage",
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
DRUMS = (Voice.KICK, Voice.SNARE, Voice.HIHAT_CLOSED)
#: As the page asks: after 1.5 s, each drum for 3 s.
LEAD_S, PROMPT_S = 1.5, 3.0


@pytest.fixture(scope="module")
def fake_mic(tmp_path_factory) -> Path:
    """Four strokes of each drum, a second into its prompt (the file starts when the page
    opens the microphone, a little before the prompts begin)."""
    hits = [Hit(LEAD_S + i * PROMPT_S + 0.8 + 0.45 * k, v, 100 + 5 * k)
            for i, v in enumerate(DRUMS) for k in range(4)]
    audio, sr = render_events(hits, soundfont="black_pearl", sample_rate=48000, mono=True)
    audio = np.concatenate([audio, np.zeros(int(3 * sr), np.float32)])
    path = tmp_path_factory.mktemp("fake-mic") / "kitcheck.wav"
    sf.write(path, audio, sr, subtype="PCM_16")
    return path


def test_kit_check_and_stored_round_trip_on_the_play_page(jam_server, fake_mic) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=ARGS + [f"--use-file-for-fake-audio-capture={fake_mic}"])
        page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(jam_server + "/")
        page.wait_for_selector("body[data-ready='1']")
        page.fill("#name-0", "Kit")
        page.check("#mic-0")
        page.wait_for_function("() => document.querySelector('#mic-info-0').textContent.includes('not checked')")
        info = page.inner_text("#mic-info-0")
        assert "round trip not measured" in info and page.is_visible("#kitcheck-0")
        device = info.split("Microphone: ", 1)[1].split(" · ", 1)[0]

        # a round trip of 47 ms measured by ear with this microphone, stored for the player
        clicks, _ = calibration_clicks(sample_rate=48000)
        heard = np.concatenate([np.zeros(int(0.147 * 48000), np.float32), clicks, np.zeros(48000, np.float32)])
        r = page.request.post(f"{jam_server}/api/calibration/ear?sample_rate=48000&clicks_frame=48000"
                              f"&name=Kit&device={device}", headers={"content-type": "application/octet-stream"},
                              data=encode_frame(heard, player=0, seq=0, first_frame=48000 - 4800))
        assert r.ok and abs(r.json()["latency_ms"] - 47.0) < 1.0
        page.dispatch_event("#name-0", "change")
        page.wait_for_function("() => document.querySelector('#mic-info-0').textContent.includes('(stored)')")
        assert page.input_value("#latency-0") == "47"
        assert page.inner_text("#ear-0") == "Recalibrate by ear"

        for box in page.query_selector_all("#kit-drums input"):
            if box.get_attribute("value") not in {v.value for v in DRUMS}:
                box.uncheck()
        page.click("#kitcheck-0")
        page.wait_for_function("() => document.querySelector('#kitcheck-prompt').textContent.includes('bass drum')")
        page.wait_for_function("() => document.querySelector('#mic-info-0').textContent.includes('kit checked')",
                               timeout=60_000)
        info = page.inner_text("#mic-info-0")
        message = page.inner_text("#message")
        stored = page.request.get(f"{jam_server}/api/kitcheck?name=Kit&device={device}").json()
        browser.close()
    assert not errors, errors
    assert "bass drum, snare, closed hi-hat" in info and "Kit check" in message
    assert stored["checked"] and stored["voices"] == [v.value for v in DRUMS]
    assert all(stored["strokes"][v.value] >= 3 for v in DRUMS), stored["strokes"]
    assert stored["confused"] == [] and "every drum told apart" in info
