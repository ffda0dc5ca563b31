"""Crash-safe takes: hits are written through as they are played, rooms are saved like local
sessions, and a server killed with SIGKILL loses no hit older than 250 ms."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from room_support import groove_song
from websockets.sync.client import connect

from drumjam.model import Hit
from drumjam.session.live import LiveSession, Player
from drumjam.store.sessions import SessionNotFoundError, get_session, list_sessions
from drumjam.web.app import create_app
from drumjam.web.room_routes import RoomService
from drumjam.web.state import History

#: The promise: a hit acknowledged this long before the crash is in the history.
WRITE_BEHIND_S = 0.250


def receive(ws, kind: str) -> dict:
    """The next message of this type (others, e.g. the partner's hits, are skipped)."""
    while True:
        msg = json.loads(ws.recv(timeout=60))
        if msg["type"] == kind:
            return msg


def test_a_remote_duet_is_saved_to_the_history_like_a_local_session(tmp_path):
    song = groove_song(bars=1)
    app = create_app(home=tmp_path)
    app.state.rooms = RoomService(songs={song.id: song}.__getitem__, lead_in_s=0.2, rejoin_grace_s=0.5)
    with TestClient(app) as client:
        host = client.post("/api/rooms", json={"song_id": song.id, "name": "Ana"}).json()
        guest = client.post("/api/rooms/join", json={"code": host["code"], "name": "Bo"}).json()
        with client.websocket_connect("/api/rooms/ws") as wa, client.websocket_connect("/api/rooms/ws") as wb:
            for ws, seat in ((wa, host), (wb, guest)):
                ws.send_json({"type": "hello", "code": seat["code"], "token": seat["token"]})
            wa.send_json({"type": "start"})
            for ws in (wa, wb):
                while ws.receive_json()["type"] != "start":
                    pass
            for i, note in enumerate(song.chart.notes):
                for ws, late_s in ((wa, 0.004), (wb, -0.006)):
                    ws.send_json({"type": "hit", "seq": i, "time_s": note.time_s + late_s,
                                  "voice": note.voice.value})
            end = None
            while end is None:
                msg = wa.receive_json()
                end = msg if msg["type"] == "end" else None
        result = end["result"]
        assert result["mode"] == "duet" and result["session_id"] is not None
        sid = result["session_id"]
        listed = client.get("/api/history").json()
        assert [(s["id"], s["status"]) for s in listed] == [(sid, "finished")]
        saved = client.get(f"/api/history/{sid}").json()
        assert [p["name"] for p in saved["players"]] == ["Ana", "Bo"]
        assert [len(t) for t in saved["takes"]] == [len(song.chart.notes)] * 2
        scores = [p["score"]["mean_offset_ms"] for p in saved["results"]["players"]]
        assert scores == [pytest.approx(4.0, abs=0.01), pytest.approx(-6.0, abs=0.01)]
        for url in (f"/api/history/{sid}/report.html", f"/api/history/{sid}/card.png",
                    f"/api/history/{sid}/take/0.mid", f"/api/history/{sid}/take/1.mid"):
            assert client.get(url).status_code == 200, url


def test_an_unfinished_session_is_kept_as_interrupted_and_scored_from_its_hits(db_url):
    """On either backend: hits written through while playing; the next start scores them
    exactly as the live session would have, a session without hits is dropped, and a
    session being played is not listed."""
    song = groove_song(bars=2)
    history = History(db_url)
    players = [Player("Ann", 12.0), Player("Bob", -8.0)]
    targets = {"song_id": song.id, "title": song.title, "beatmap": song.beatmap, "chart": song.chart,
               "grid": song.grid, "practice": {"speed": 1.0}}
    sid = history.open(players=players, **targets)
    empty = history.open(players=players[:1], **targets)
    live = LiveSession(players, song.beatmap, song.chart, on_hit=history.recorder(sid))
    twin = LiveSession(players, song.beatmap, song.chart)
    for i, note in enumerate(song.chart.notes):
        for player, (late_s, latency) in enumerate(((0.006, 0.012), (-0.004, -0.008))):
            hit = Hit(note.time_s + late_s + latency + 0.001 * (i % 3), note.voice, 80)
            live.add_hit(player, hit)
            twin.add_hit(player, hit)
    assert history.writer.flush()
    assert list_sessions(url=db_url) == []  # still being played
    assert History(db_url).recovered == [sid]  # the next start of the app
    saved = get_session(sid, url=db_url)
    expected = twin.finish().to_dict()
    assert saved["status"] == "interrupted" and saved["summary"] == "Interrupted (the server stopped): " + expected["summary"]
    assert [p["score"] for p in saved["results"]["players"]] == [p["score"] for p in expected["players"]]
    assert [p["latency_ms"] for p in saved["players"]] == [12.0, -8.0]
    assert [len(t) for t in saved["takes"]] == [len(song.chart.notes)] * 2
    with pytest.raises(SessionNotFoundError):
        get_session(empty, url=db_url)
    history.close()


def test_a_run_whose_hits_miss_the_chart_is_scored_and_kept_and_the_next_start_goes_on(
        db_url, monkeypatch, caplog):
    """A hit far past the song's notes (or a run stopped before its first note) scores as an
    extra hit, every note missed: it is no take of another song to refuse. And a session that
    cannot be scored at all is logged and left, its hits kept, while the app starts."""
    song = groove_song(bars=2)
    notes = len(song.chart.notes)
    history = History(db_url)
    players = [Player("Ann"), Player("Bob")]
    targets = {"song_id": song.id, "title": song.title, "beatmap": song.beatmap, "chart": song.chart,
               "grid": song.grid, "practice": {"speed": 1.0}}
    far = history.open(players=players, **targets)
    live = LiveSession(players, song.beatmap, song.chart, on_hit=history.recorder(far))
    for player in (0, 1):
        live.add_hit(player, Hit(song.chart.notes[-1].time_s + 100.0 + player, "snare", 80))
    result = live.finish().to_dict()  # what the page's finish gets: a result, not an error
    assert [(p["score"]["matched"], p["score"]["missed"], p["score"]["extra"])
            for p in result["players"]] == [(0, notes, 1)] * 2
    first_s = song.chart.notes[0].time_s
    early = LiveSession(players[:1], song.beatmap, song.chart)
    early.add_hit(0, Hit(first_s - 0.02, "kick", 80))
    stopped = early.finish(stop_s=first_s - 0.01).to_dict()["players"][0]["score"]
    assert (stopped["matched"], stopped["missed"], stopped["extra"]) == (0, 0, 1)

    kept = history.open(players=players[:1], **targets)
    again = LiveSession(players[:1], song.beatmap, song.chart, on_hit=history.recorder(kept))
    again.add_hit(0, Hit(song.chart.duration_s + 50.0, "kick", 80))
    assert history.writer.flush()
    assert History(db_url).recovered == [far, kept]  # the app starts; both are kept
    saved = get_session(kept, url=db_url)["results"]["players"][0]["score"]
    assert (saved["matched"], saved["missed"], saved["extra"]) == (0, notes, 1)

    stuck = history.open(players=players[:1], **targets)
    fine = history.open(players=players[:1], **targets)
    for sid in (stuck, fine):
        history.recorder(sid)(0, Hit(first_s, "kick", 80))
    assert history.writer.flush()
    import drumjam.store.sessions as sessions

    real = sessions.interrupt_session

    def broken(session_id: int, url: str | None = None) -> bool:
        if session_id == stuck:
            raise RuntimeError("a bug in scoring")
        return real(session_id, url=url)

    monkeypatch.setattr(sessions, "interrupt_session", broken)
    assert History(db_url).recovered == [fine]
    assert "session %d could not be scored" % stuck in caplog.text
    monkeypatch.setattr(sessions, "interrupt_session", real)
    assert History(db_url).recovered == [stuck]  # nothing was lost: scored once it can be
    history.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(home: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, DRUMJAM_HOME=str(home))
    env.pop("DRUMJAM_DB_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "drumjam.web.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/songs", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the jam app did not start")


@pytest.mark.slow
def test_kill_9_loses_no_hit_older_than_250_ms(tmp_path):
    """A two-player session and a remote room play on; the server gets SIGKILL mid-song.
    After a restart both are in the history as interrupted, with every hit acknowledged
    250 ms or more before the kill, scorable and downloadable."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(tmp_path, port)
    http = httpx.Client(timeout=120)  # the machine may be busy: slow, not wrong
    try:
        live = http.post(f"{base}/api/sessions", json={"song_id": "fast-rock", "players": [
            {"name": "Ann", "latency_ms": 0}, {"name": "Bob", "latency_ms": 0}]}).json()
        host = http.post(f"{base}/api/rooms", json={"song_id": "fast-rock", "name": "Ana"}).json()
        guest = http.post(f"{base}/api/rooms/join", json={"code": host["code"], "name": "Bo"}).json()
        notes = live["plan"]["notes"]
        lead_s = live["plan"]["lead_in_s"]
        acked: dict[str, list[tuple[float, float]]] = {"local": [], "room": []}  # (ack time, hit time)
        ws_url = base.replace("http", "ws")
        with connect(ws_url + live["websocket"]) as local, connect(ws_url + "/api/rooms/ws") as wa, \
                connect(ws_url + "/api/rooms/ws") as wb:
            for ws, seat in ((wa, host), (wb, guest)):
                ws.send(json.dumps({"type": "hello", "code": seat["code"], "token": seat["token"]}))
                receive(ws, "welcome")
            wa.send(json.dumps({"type": "start"}))
            receive(wa, "start")
            receive(wb, "start")
            kill_at = time.monotonic() + 1.5
            i = 0
            while time.monotonic() < kill_at or i < 40:  # hits in flight until the kill
                note = notes[i % len(notes)]
                song_time_s = note["time_s"] - lead_s
                for player in (0, 1):
                    t = note["time_s"] + 0.003 * player
                    local.send(json.dumps({"type": "hit", "seq": i, "player": player, "time_s": t,
                                           "voice": note["voice"]}))
                    receive(local, "judgment")
                    acked["local"].append((time.monotonic(), t))
                for ws, late_s in ((wa, 0.002), (wb, -0.002)):
                    t = song_time_s + late_s
                    ws.send(json.dumps({"type": "hit", "seq": i, "time_s": t, "voice": note["voice"]}))
                    receive(ws, "judgment")
                    acked["room"].append((time.monotonic(), t))
                i += 1
                time.sleep(0.01)
            killed_s = time.monotonic()
            server.send_signal(signal.SIGKILL)
            server.wait(10)
        server = _serve(tmp_path, port)
        listed = http.get(f"{base}/api/history").json()
        assert sorted(s["status"] for s in listed) == ["interrupted", "interrupted"]
        for entry in listed:
            saved = http.get(f"{base}/api/history/{entry['id']}").json()
            kind = "room" if saved["practice"].get("remote") else "local"
            # the room plays on a local session's timeline: the song after a lead-in bar
            shift_s = lead_s if kind == "room" else 0.0
            kept = sorted(round(h["time_s"] - shift_s, 6) for take in saved["takes"] for h in take)
            due = sorted(round(t, 6) for at, t in acked[kind] if at <= killed_s - WRITE_BEHIND_S)
            assert len(due) > 20
            missing = [t for t in due if t not in set(kept)]
            assert not missing, (kind, len(missing), len(due))
            assert saved["summary"].startswith("Interrupted")
            assert len(saved["results"]["players"]) == 2
            for url in ("report.html", "card.png", "take/0.mid", "take/1.mid"):
                assert http.get(f"{base}/api/history/{entry['id']}/{url}").status_code == 200, url
    finally:
        http.close()
        server.kill()
        server.wait(10)
