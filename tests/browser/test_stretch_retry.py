"""The Play page while the server is too busy to stretch the backing track (503 + Retry-After).

The audio request of a slowed-down run is routed through the test: its first answers are the
server's busy reply, so the page's waiting line, its asking again after ``Retry-After`` and its
giving up (click only, said on the page) are seen in a real browser. The unit tests of the
waiting itself are in ``tests/js/stretch_retry.test.mjs``.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

AUDIO = re.compile(r"/api/songs/[^/?]+/audio\?speed=")
BUSY = "the server is busy time-stretching backing tracks for 20 requests; try again in a moment"


def _route_busy(page, busy_answers: int) -> list[str]:
    """Answer the first ``busy_answers`` audio requests 503 (Retry-After: 1 s); the rest get
    the server's own backing at 100 % (no stretch to wait for). Returns the URLs asked."""
    asked: list[str] = []

    def route(r):
        asked.append(r.request.url)
        if len(asked) <= busy_answers:
            r.fulfill(status=503, headers={"Retry-After": "1"}, json={"detail": BUSY})
        else:
            r.fulfill(response=r.fetch(url=re.sub(r"speed=[^&]+", "speed=1.0", r.request.url)))
    page.route(AUDIO, route)
    return asked


def _start_slowed(page, song: str = "slow-funk") -> None:
    page.select_option("#song", song)
    page.fill("#name-0", "Busy")
    page.eval_on_selector("#speed", "e => { e.value = 70; e.dispatchEvent(new Event('input')); }")
    page.click("#start")


def test_a_busy_server_is_asked_again_and_the_backing_plays(page):
    asked = _route_busy(page, busy_answers=2)
    _start_slowed(page)
    page.wait_for_selector("#progress:has-text('preparing the slowed-down song (70 %)')")
    assert "asking again in 1 s (try 2 of 6)" in page.inner_text("#progress")
    assert page.locator("#start").is_disabled()
    page.wait_for_selector("body[data-mode='playing']", timeout=30_000)
    assert len(asked) == 3 and all("speed=0.7" in url for url in asked)
    assert page.evaluate("drumjam.engine.buffers.size") == 1  # the backing track, not click only
    assert page.is_hidden("#message")
    assert page.is_hidden("#progress")


def test_a_server_busy_past_the_tries_leaves_the_click_and_says_why(page):
    asked = _route_busy(page, busy_answers=1000)
    _start_slowed(page)
    page.wait_for_selector("body[data-mode='playing']", timeout=30_000)
    assert len(asked) == 6  # the tries allowed (busy.js BUSY_TRIES), one second apart
    assert page.evaluate("drumjam.engine.buffers.size") == 0
    message = page.inner_text("#message")
    assert "stayed too busy to prepare the song at 70 % (asked 6 times over 5 s)" in message
    assert "playing with the click only" in message
    assert "100 %" in message
