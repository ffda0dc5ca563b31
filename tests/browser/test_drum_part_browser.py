"""An added song's own drum part on the Play page: transcribed while the page waits, shown in
lanes before playing, downloadable, and played against when chosen."""

from __future__ import annotations

import pytest
from drum_mix import song_with_drums

pytestmark = pytest.mark.browser


def test_an_added_song_is_played_to_its_drum_part(page, tmp_path):
    data, _ = song_with_drums("rock-shuffle", sample_rate=22050)
    song = tmp_path / "shuffle with drums.wav"
    song.write_bytes(data)
    assert page.locator("#drum-part").is_hidden()  # built-in songs have their own charts
    page.set_input_files("#upload-file", str(song))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#message:has-text('Added')", timeout=120000)
    page.wait_for_selector("#drum-part-status:has-text('notes transcribed')", timeout=120000)
    song_id = page.input_value("#song")
    summary = page.evaluate(f"fetch('/api/songs/{song_id}').then((r) => r.json())")
    assert summary["drum_part"] == "ready" and summary["drum_part_notes"] > 0
    assert page.get_attribute("#drum-part-midi", "href") == f"/api/songs/{song_id}/drum-part.mid"

    page.click("#drum-part-show")
    page.wait_for_selector("#drum-part-view", state="visible")
    assert page.evaluate("document.querySelector('#drum-part-lanes').width") > 0

    bodies: list[dict] = []
    page.on("request", lambda r: bodies.append(r.post_data_json)
            if r.method == "POST" and r.url.endswith("/api/sessions") else None)
    page.select_option("#play-to", "drum_part")
    page.fill("#latency-0", "0")
    page.click("#start")
    page.wait_for_selector("body[data-mode='playing']")
    assert bodies and bodies[0]["drum_part"] is True
    assert page.evaluate("drumjam.state.plan.notes.length") == summary["drum_part_notes"]
