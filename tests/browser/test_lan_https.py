"""Another device of the room in Chromium: the microphone it needs is given over ``drumjam
serve --lan``'s https at this computer's network address, and not over plain http there.

Chromium's fake capture device stands for the phone's microphone; the page is opened at the
network address (not localhost, which browsers trust without https), with the certificate
accepted as a player accepts it once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drumjam.web.tls import lan_addresses

sys.path.insert(0, str(Path(__file__).parents[1]))
from test_tls import serve, wait_answering  # noqa: E402

pytestmark = [pytest.mark.browser]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
        "--disable-dev-shm-usage", "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream"]
#: What the page can do with a microphone, as the join page's script would find it.
PROBE = """async () => {
  const out = {secure: window.isSecureContext, media: !!navigator.mediaDevices};
  if (out.media) {
    const stream = await navigator.mediaDevices.getUserMedia({audio: true});
    out.tracks = stream.getAudioTracks().map((t) => t.readyState);
    stream.getTracks().forEach((t) => t.stop());
  }
  return out;
}"""


@pytest.fixture(scope="module")
def address() -> str:
    found = lan_addresses()
    if not found:
        pytest.skip("this machine has no network address besides loopback")
    return found[0]


@pytest.fixture(scope="module")
def servers(tmp_path_factory, address: str) -> Iterator[tuple[str, str]]:
    """The app served with ``--lan``, and as plain http on every network (the host allowed)."""
    lan, lan_port = serve(tmp_path_factory.mktemp("lan-home"), "--lan")
    plain, plain_port = serve(tmp_path_factory.mktemp("plain-home"), "--host", "0.0.0.0",
                              env={"DRUMJAM_ALLOWED_HOSTS": address})
    try:
        urls = (f"https://{address}:{lan_port}", f"http://{address}:{plain_port}")
        for proc, url in zip((lan, plain), urls):
            wait_answering(proc, url + "/")
        yield urls
    finally:
        for proc in (lan, plain):
            proc.terminate()
            proc.communicate(timeout=20)


def test_the_microphone_is_given_over_lan_https_and_not_over_plain_http(servers) -> None:
    from playwright.sync_api import sync_playwright

    https_url, http_url = servers
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            found = {}
            for url in (https_url, http_url):
                context = browser.new_context(ignore_https_errors=True)
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.goto(url + "/join.html#code=abcdefghijkl")
                found[url] = page.evaluate(PROBE)
                context.close()
                assert not errors, errors
        finally:
            browser.close()
    assert found[https_url] == {"secure": True, "media": True, "tracks": ["live"]}
    assert found[http_url] == {"secure": False, "media": False}
