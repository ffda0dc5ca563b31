"""Take the README's screenshots of the jam app: the play screen at 1280x800 and at phone width
390x844 (docs/img/play-1280x800.png, docs/img/play-390x844.png) and the results page
(docs/img/results.png).

Starts the app on a free loopback port with a temporary data folder, opens it in Debian's
Chromium through Playwright, plays a duet of scripted hits (two players on one keyboard, each
with a human spread of timing; the page's song-clock test hook fixes the time of each key press)
and captures the screens.

    python scripts/screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import uvicorn
from playwright.sync_api import sync_playwright

from drumjam.web.app import create_app

BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run",
                 "--autoplay-policy=no-user-gesture-required", "--disable-dev-shm-usage"]
PLAYER_KEYS = (
    {"kick": "KeyZ", "snare": "KeyX", "hihat": "KeyC", "hihat_pedal": "KeyF", "tom_high": "KeyA",
     "tom_mid": "KeyS", "tom_floor": "KeyD", "crash": "KeyQ", "ride": "KeyW"},
    {"kick": "KeyM", "snare": "Comma", "hihat": "Period", "hihat_pedal": "Semicolon",
     "tom_high": "KeyJ", "tom_mid": "KeyK", "tom_floor": "KeyL", "crash": "KeyU", "ride": "KeyI"},
)
FEEL_MS = ((6.0, 9.0), (-14.0, 13.0))  # mean and SD of each player's offsets
PLAY_SIZES = ((1280, 800), (390, 844))
NOTES_PLAYED = 40


def serve(home: Path) -> tuple[uvicorn.Server, threading.Thread, str]:
    """The app on a free loopback port, in a thread: server, thread and base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(home=home), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SystemExit("the app did not start within 30 s")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def play_duet(page, url: str, rng: np.random.Generator) -> None:
    """Start a duet on the Play page and play its first notes with each player's feel."""
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready='1']")
    page.select_option("#song", "slow-funk")
    page.fill("#name-0", "Mina")
    page.check("#two-players")
    page.fill("#name-1", "Joon")
    page.evaluate("drumjam.setSongTime(0)")
    page.click("#start")
    page.wait_for_selector("body[data-mode='playing']", timeout=60_000)
    notes = page.evaluate("drumjam.state.plan.notes")
    groups = page.evaluate("drumjam.state.groupOf")
    played = notes[:NOTES_PLAYED]
    for note in played:
        for player, (mean, sd) in enumerate(FEEL_MS):
            t = note["time_s"] + rng.normal(mean, sd) / 1000
            page.evaluate(f"drumjam.setSongTime({t!r})")
            page.keyboard.press(PLAYER_KEYS[player][groups[note["voice"]]])
    page.evaluate(f"drumjam.setSongTime({played[-1]['time_s'] + 0.02!r})")
    page.wait_for_function(f"() => drumjam.screen.lanes[1].marks.length === {len(played)}")
    page.wait_for_timeout(200)  # a frame drawn at the final time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as home:
        server, thread, url = serve(Path(home))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                            args=BROWSER_FLAGS)
                for width, height in PLAY_SIZES:
                    page = browser.new_page(viewport={"width": width, "height": height})
                    play_duet(page, url, np.random.default_rng(7))
                    path = args.out / f"play-{width}x{height}.png"
                    page.screenshot(path=str(path))
                    written.append(path)
                    if width == PLAY_SIZES[0][0]:
                        page.set_viewport_size({"width": 1280, "height": 1180})
                        page.click("#stop")
                        page.wait_for_url("**/results.html?id=*")
                        page.wait_for_selector("body[data-ready='1']")
                        page.wait_for_function("() => document.querySelector('#card').complete")
                        page.screenshot(path=str(args.out / "results.png"))
                        written.append(args.out / "results.png")
                    page.close()
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    print("wrote " + ", ".join(str(p) for p in written))


if __name__ == "__main__":
    main()
