"""Browser test fixtures: the jam app on a free loopback port and Debian's Chromium.

Playwright drives /usr/bin/chromium (never a downloaded browser), headless, with the flags a
closed network needs. Every test module gets its own server, data folder and database.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
MAX_UPLOAD_BYTES = 5_000_000  # small, so the oversized-upload test stays quick
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def jam_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running jam app (uvicorn in a thread) with its own home and database."""
    import uvicorn

    from drumjam.web.app import create_app

    home = tmp_path_factory.mktemp("jam-home")
    port = _free_port()
    app = create_app(home=home, max_upload_bytes=MAX_UPLOAD_BYTES)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the jam app did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """A headless Chromium browser (Debian's) driven by Playwright's sync API."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/install.sh --test`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(chromium, jam_server):
    """The Play page, ready, at 1280x1000; the test fails on any script error in it."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(jam_server + "/")
    page.wait_for_selector("body[data-ready='1']")
    yield page
    context.close()
    assert not errors, errors
