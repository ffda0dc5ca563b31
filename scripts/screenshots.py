"""Take the README's screenshots of the jam app (docs/img/play.png, docs/img/results.png).

Starts the app on a free loopback port with a temporary data folder, opens it in Debian's
Chromium through Playwright, plays a duet of scripted hits (two players on one keyboard, each
with a human spread of timing) and captures the play view and the results page.

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
                 "--autoplay-policy=no-user-gesture-required"]
PLAYER_KEYS = (
    {"kick": "KeyZ", "snare": "KeyX", "hihat": "KeyC", "hihat_pedal": "KeyF", "tom_high": "KeyA",
     "tom_mid": "KeyS", "tom_floor": "KeyD", "crash": "KeyQ", "ride": "KeyW"},
    {"kick": "KeyM", "snare": "Comma", "hihat": "Period", "hihat_pedal": "Semicolon",
     "tom_high": "KeyJ", "tom_mid": "KeyK", "tom_floor": "KeyL", "crash": "KeyU", "ride": "KeyI"},
)
FEEL_MS = ((6.0, 9.0), (-14.0, 13.0))  # mean and SD of each player's offsets


def serve(home: Path) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(home=home), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as home:
        server, thread, url = serve(Path(home))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                            args=BROWSER_FLAGS)
                page = browser.new_page(viewport={"width": 1280, "height": 1180})
                page.goto(url + "/")
                page.wait_for_selector("body[data-ready='1']")
                page.select_option("#song", "slow-funk")
                page.fill("#name-0", "Mina")
                page.check("#two-players")
                page.fill("#name-1", "Joon")
                page.click("#start")
                page.wait_for_selector("body[data-mode='playing']")
                notes = page.evaluate("drumjam.state.plan.notes")
                groups = page.evaluate("drumjam.state.groupOf")
                played = notes[:70]
                for note in played:
                    for player, (mean, sd) in enumerate(FEEL_MS):
                        t = note["time_s"] + rng.normal(mean, sd) / 1000
                        page.evaluate(f"drumjam.setSongTime({t!r})")
                        page.keyboard.press(PLAYER_KEYS[player][groups[note["voice"]]])
                page.evaluate(f"drumjam.setSongTime({played[-1]['time_s'] + 0.02!r})")
                page.wait_for_function(f"drumjam.state.lanes[1].marks.length === {len(played)}")
                page.locator("#play").screenshot(path=str(args.out / "play.png"))
                page.click("#stop")
                page.wait_for_url("**/results.html?id=*")
                page.wait_for_selector("body[data-ready='1']")
                page.wait_for_function("document.querySelector('#card').complete")
                page.screenshot(path=str(args.out / "results.png"), full_page=False)
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    print(f"wrote {args.out / 'play.png'} and {args.out / 'results.png'}")


if __name__ == "__main__":
    main()
