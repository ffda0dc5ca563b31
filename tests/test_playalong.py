"""One play-along core: a local session, a remote room and a lesson attempt score the same
scripted take the same way (timeline, early first note, latency removal), a player who stops
early is scored up to the stop, and the live line uses the results' accuracy."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from drumjam.model import voice_group
from drumjam.web.app import create_app
from drumjam.web.room_routes import RoomService

SONG = "fast-rock"  # 140 BPM, straight; its first notes (kick and hi-hat) at 0.0 s
LATENCY_MS = 20.0
BARS = 2


def scripted_offset_ms(group: str, sixteenth: int) -> float:
    """The scripted take: each note of the first two bars played this far off (ms), the same
    for every note of a voice group at one position; 10-30 ms either way, the kick on "one"
    (the song's very first note) 30 ms early, before the song's start."""
    if group == "kick" and sixteenth == 0:
        return -30.0
    magnitude = 10.0 + (7 * sixteenth + 3 * len(group)) % 20
    return magnitude if (sixteenth + len(group)) % 2 else -magnitude


@pytest.fixture()
def app(tmp_path):
    app = create_app(home=tmp_path)
    app.state.rooms = RoomService(lead_in_s=0.2, rejoin_grace_s=0.5)
    return app


def _song_notes(client) -> tuple[list[tuple[float, str, float]], float]:
    """(song time, voice, scripted offset) of every note of the first bars, and the bar length."""
    live = client.post("/api/sessions", json={"song_id": SONG, "players": [{"name": "probe"}]}).json()
    beats = live["plan"]["beatmap"]["beats"]
    lead_s = live["plan"]["lead_in_s"]
    beat_s = beats[1] - beats[0]
    bar_s = 4 * beat_s
    notes = []
    for n in live["plan"]["notes"]:
        t = n["time_s"] - lead_s
        if t < BARS * bar_s - 1e-6:
            sixteenth = round(t / (beat_s / 4))
            notes.append((t, n["voice"], scripted_offset_ms(voice_group(n["voice"]).value, sixteenth)))
    return notes, bar_s


def test_one_scripted_take_scores_the_same_in_a_session_a_room_and_a_lesson(app):
    with TestClient(app) as client:
        notes, bar_s = _song_notes(client)
        expected = sorted(round(off, 1) for _, _, off in notes)
        assert min(expected) == -30.0 and len(notes) == 28

        # 1. a local session (player latency removed), stopped after the two bars
        live = client.post("/api/sessions", json={"song_id": SONG, "players": [
            {"name": "Ann", "latency_ms": LATENCY_MS}]}).json()
        lead_s = live["plan"]["lead_in_s"]
        with client.websocket_connect(live["websocket"]) as ws:
            local = []
            for seq, (t, voice, off) in enumerate(notes):
                ws.send_json({"type": "hit", "seq": seq, "time_s": lead_s + t + (off + LATENCY_MS) / 1e3,
                              "voice": voice})
                local.append(ws.receive_json()["offset_ms"])
            ws.send_json({"type": "finish", "stop_s": lead_s + BARS * bar_s})
            finished = ws.receive_json()
        saved = client.get(f"/api/history/{finished['session_id']}").json()
        final = saved["results"]["players"][0]["score"]
        assert final["missed"] == 0 and final["matched"] == len(notes)  # stopped: not missed
        assert saved["results"]["stopped_at_s"] == pytest.approx(lead_s + BARS * bar_s)
        assert "Stopped 3.4 s into the song (bar 3)" in saved["summary"]
        final_offsets = [h["offset_ms"] for h in final["hits"]]

        # 2. a remote room (the seat's calibration removed), times from the song's start
        host = client.post("/api/rooms", json={"song_id": SONG, "name": "Ana"}).json()
        with client.websocket_connect("/api/rooms/ws") as wa:
            wa.send_json({"type": "hello", "code": host["code"], "token": host["token"]})
            wa.send_json({"type": "settings", "calibration_ms": LATENCY_MS})
            wa.send_json({"type": "start"})
            while wa.receive_json()["type"] != "start":
                pass
            room = []
            for seq, (t, voice, off) in enumerate(notes):
                wa.send_json({"type": "hit", "seq": seq, "time_s": t + (off + LATENCY_MS) / 1e3,
                              "voice": voice})
                msg = wa.receive_json()
                while msg["type"] != "judgment":
                    msg = wa.receive_json()
                room.append(msg["offset_ms"])

        # 3. a lesson made of the same two bars, attempted at the song's tempo
        teacher = [{"time_s": t, "voice": v} for t, v, _ in notes]
        made = client.post("/api/lessons", json={"name": "fast rock", "tempo_bpm": 240 / bar_s,
                                                 "hits": teacher, "bars": "1-2"})
        assert made.status_code == 200, made.text
        attempt = client.post("/api/lessons/fast rock/attempts", json={
            "student": "Ann", "tempo_bpm": 240 / bar_s, "loops": 1, "latency_ms": LATENCY_MS,
            "hits": [{"time_s": t + (off + LATENCY_MS) / 1e3, "voice": v} for t, v, off in notes]}).json()
        cells = [r["mean_offset_ms"] for r in attempt["remarks"] if r["kind"] == "timing"]
        # the attempt is in the history like a jam, with its report, card and MIDI
        kept = client.get(f"/api/history/{attempt['session_id']}").json()
        lesson_offsets = [h["offset_ms"] for h in kept["results"]["players"][0]["score"]["hits"]]
        assert kept["song_title"] == "Lesson: fast rock" and kept["status"] == "finished"
        for url in ("report.html", "card.png", "take/0.mid"):
            assert client.get(f"/api/history/{attempt['session_id']}/{url}").status_code == 200

    scripted = [off for _, _, off in notes]
    assert local == pytest.approx(scripted, abs=0.1)
    assert sorted(final_offsets) == pytest.approx(sorted(scripted), abs=0.1)
    assert room == pytest.approx(scripted, abs=0.1)
    assert sorted(lesson_offsets) == pytest.approx(sorted(scripted), abs=0.1)
    # the lesson speaks per voice and position: one remark per scripted cell, same offsets
    per_cell = sorted({(voice_group(v).value, round(t / (bar_s / 16))): off for t, v, off in notes}.values())
    assert sorted(cells) == pytest.approx(per_cell, abs=0.1)
    assert attempt["played_pct"] == 100.0


def test_the_live_line_and_the_results_use_one_accuracy(app):
    with TestClient(app) as client:
        notes, _ = _song_notes(client)
        live = client.post("/api/sessions", json={"song_id": SONG, "players": [{"name": "Bo"}]}).json()
        lead_s = live["plan"]["lead_in_s"]
        with client.websocket_connect(live["websocket"]) as ws:
            running = None
            for seq, (t, voice, off) in enumerate(notes):
                ws.send_json({"type": "hit", "seq": seq, "time_s": lead_s + t + off / 1e3, "voice": voice})
                running = ws.receive_json()["running"]
            ws.send_json({"type": "hit", "seq": 99, "time_s": lead_s + 3.3, "voice": "crash"})  # extra
            running = ws.receive_json()["running"]
            ws.send_json({"type": "finish", "stop_s": lead_s + 3.35})
            sid = ws.receive_json()["session_id"]
        score = client.get(f"/api/history/{sid}").json()["results"]["players"][0]["score"]
    assert score["extra"] == 1 and score["missed"] == 0
    assert running["accuracy_pct"] == pytest.approx(score["accuracy_pct"], abs=0.05)
    assert running["hits"] == len(notes) + 1


def test_count_in_taps_are_not_part_of_the_take(app):
    with TestClient(app) as client:
        live = client.post("/api/sessions", json={"song_id": SONG, "players": [{"name": "Cy"}]}).json()
        lead_s = live["plan"]["lead_in_s"]
        first = live["plan"]["notes"][0]
        with client.websocket_connect(live["websocket"]) as ws:
            ws.send_json({"type": "hit", "seq": 0, "time_s": lead_s - 0.9, "voice": "hihat_closed"})
            tap = ws.receive_json()
            ws.send_json({"type": "hit", "seq": 1, "time_s": first["time_s"] - 0.030, "voice": first["voice"]})
            early = ws.receive_json()
            ws.send_json({"type": "finish"})
            sid = ws.receive_json()["session_id"]
        saved = client.get(f"/api/history/{sid}").json()
    assert tap["type"] == "judgment" and tap["judgment"] is None and tap["running"]["hits"] == 0
    assert early["offset_ms"] == pytest.approx(-30.0, abs=1e-3)
    assert [h["time_s"] for h in saved["takes"][0]] == [pytest.approx(first["time_s"] - 0.030)]
