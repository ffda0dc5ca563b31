"""Remote rooms when players leave for good: what they played is kept and scored as far as it
goes, and a room everyone has left ends within a bounded time, saved."""

import time

import pytest
from fastapi.testclient import TestClient
from room_support import groove_song

from drumjam.model import Chart
from drumjam.session.rooms import Room
from drumjam.web.app import create_app
from drumjam.web.room_routes import RoomService

WS = "/api/rooms/ws"


@pytest.fixture(scope="module")
def song():
    return groove_song(bars=4)


#: Gaps in the groove's notes (song time, s): a player who stops there has played every note
#: before it and none after (the next notes come at 2.437 s and 4.741 s).
GAP_1_S, GAP_2_S = 2.42, 4.70


def _until(song, until_s: float) -> Chart:
    """The notes before ``until_s`` (song time)."""
    return Chart(tuple(n for n in song.chart.notes if n.time_s < until_s), song.chart.beatmap)


def _play(room: Room, seat, chart: Chart, late_s: float = 0.0, seq0: int = 0) -> None:
    for i, n in enumerate(sorted(chart.notes, key=lambda n: n.time_s)):
        room.add_hit(seat, seq0 + i, n.time_s + late_s, n.voice, n.velocity)


def test_a_player_who_leaves_for_good_keeps_the_hits_they_played(song):
    """Bo plays the first bar, then his connection drops and never comes back: his bar is
    kept and scored (the bars after it are not counted missed); Ana plays on alone."""
    room = Room(song, "Ana", 0.0)
    ana, bo = room.seats[0], room.join("Bo")
    for seat in (ana, bo):
        room.set_connected(seat, True, 0.0)
    room.start(0.0)
    _play(room, ana, song.chart, 0.004)
    first_bar = _until(song, GAP_1_S)
    _play(room, bo, first_bar, -0.006)
    gone_s = room.start_s + GAP_1_S
    room.set_connected(bo, False, gone_s)
    result = room.finish(100.0)
    assert result["mode"] == "duet" and result["absent"] == ["Bo"]
    by_name = {p["name"]: p for p in result["players"]}
    assert by_name["Ana"]["score"]["matched"] == len(song.chart)
    assert "left_at_s" not in by_name["Ana"]
    bo_score = by_name["Bo"]["score"]
    assert bo_score["matched"] == len(first_bar) and bo_score["missed"] == 0
    assert bo_score["mean_offset_ms"] == pytest.approx(-6.0, abs=1e-3)
    assert by_name["Bo"]["left_at_s"] == pytest.approx(gone_s - room.start_s + room.plan.lead_in_s)
    assert by_name["Bo"]["seat"] == "B"
    # the duet compares what they played together: Bo's bar
    assert result["duet"]["sync"]["mean_async_ms"] == pytest.approx(10.0, abs=1e-3)
    assert "Bo left 2.4 s into the song (bar 2)" in result["summary"]
    assert len(room.final.takes[1].hits) == len(first_bar)


def test_both_leaving_keeps_both_takes_each_scored_up_to_where_they_left(song):
    room = Room(song, "Ana", 0.0)
    ana, bo = room.seats[0], room.join("Bo")
    for seat in (ana, bo):
        room.set_connected(seat, True, 0.0)
    room.start(0.0)
    _play(room, ana, _until(song, GAP_2_S))
    _play(room, bo, _until(song, GAP_1_S), 0.010)
    room.set_connected(bo, False, room.start_s + GAP_1_S)
    room.set_connected(ana, False, room.start_s + GAP_2_S)
    result = room.finish(100.0)
    assert result["mode"] == "duet", result["summary"]
    assert sorted(result["absent"]) == ["Ana", "Bo"]
    ana_p, bo_p = result["players"]
    assert ana_p["score"]["matched"] == len(_until(song, GAP_2_S)) and ana_p["score"]["missed"] == 0
    assert bo_p["score"]["matched"] == len(_until(song, GAP_1_S)) and bo_p["score"]["missed"] == 0
    assert result["duet"]["sync"]["mean_async_ms"] == pytest.approx(-10.0, abs=1e-3)
    assert "Ana left" in result["summary"] and "Bo left" in result["summary"]


def test_a_hit_sent_ahead_of_its_time_still_counts_for_a_player_who_left(song):
    """The stop is where the connection dropped or just past the last hit, whichever is later
    (a 25 ms early hit on the last note played stays matched)."""
    room = Room(song, "Ana", 0.0)
    ana = room.seats[0]
    room.set_connected(ana, True, 0.0)
    room.start(0.0)
    bar = _until(song, GAP_1_S)
    _play(room, ana, bar, -0.025)
    room.set_connected(ana, False, room.start_s)  # left at the song's start, hits sent ahead
    result = room.finish(100.0)
    score = result["players"][0]["score"]
    assert result["mode"] == "single"
    assert score["matched"] == len(bar) and score["extra"] == 0 and score["missed"] == 0


def test_a_room_everyone_left_ends_early_and_is_saved(song, tmp_path):
    """Both connections drop in the first bar of a 9 s song: the room ends once both have been
    away for its abandon time (not at the song's end), and the history keeps both takes,
    scored as far as they went (it said 'nobody played a hit' and saved the room as
    interrupted by a server stop)."""
    app = create_app(home=tmp_path, db_url=f"sqlite:///{tmp_path}/db.sqlite")
    service = RoomService(songs={song.id: song}.__getitem__, lead_in_s=0.3, rejoin_grace_s=0.5,
                          abandon_s=0.5)
    app.state.rooms = service
    bar = _until(song, GAP_1_S)
    with TestClient(app) as client:
        host = client.post("/api/rooms", json={"song_id": song.id, "name": "Ana"}).json()
        guest = client.post("/api/rooms/join", json={"code": host["code"], "name": "Bo"}).json()
        with client.websocket_connect(WS) as wa, client.websocket_connect(WS) as wb:
            for ws, seat in ((wa, host), (wb, guest)):
                ws.send_json({"type": "hello", "code": seat["code"], "token": seat["token"]})
            wa.send_json({"type": "start"})
            for ws, late_s in ((wa, 0.0), (wb, 0.008)):
                while ws.receive_json()["type"] != "start":
                    pass
                for i, n in enumerate(bar.notes):
                    ws.send_json({"type": "hit", "seq": i, "time_s": n.time_s + late_s,
                                  "voice": n.voice.value})
                for _ in bar.notes:
                    while ws.receive_json()["type"] != "judgment":
                        pass
        room = service.registry.get(host["code"])
        gone = time.monotonic()
        while room.result is None and time.monotonic() - gone < 20:
            time.sleep(0.05)
        assert room.result is not None
        assert room.end_s - service.clock_s() > 3.0  # long before the song's end
        key = {"code": host["code"], "token": host["token"]}
        result = client.post("/api/rooms/result", json=key).json()
        assert result["mode"] == "duet" and sorted(result["absent"]) == ["Ana", "Bo"]
        assert [p["score"]["matched"] for p in result["players"]] == [len(bar)] * 2
        assert [p["score"]["missed"] for p in result["players"]] == [0, 0]
        listed = client.get("/api/history").json()
        assert [(s["id"], s["status"]) for s in listed] == [(result["session_id"], "finished")]
        saved = client.get(f"/api/history/{result['session_id']}").json()
        assert [len(t) for t in saved["takes"]] == [len(bar)] * 2


def test_a_database_failing_at_the_end_still_gives_the_players_their_result(song, tmp_path):
    """The history refusing the room's result left the players with no 'end' message and
    their connections open for ever (the exception ended the end timer); now they get the
    result, told it was not saved, and the hits written while they played are recovered as an
    interrupted session when the app next starts."""
    from sqlalchemy.exc import OperationalError

    db = f"sqlite:///{tmp_path}/db.sqlite"
    app = create_app(home=tmp_path, db_url=db)
    service = RoomService(songs={song.id: song}.__getitem__, lead_in_s=600.0)
    app.state.rooms = service
    bar = _until(song, GAP_1_S)
    with TestClient(app) as client:

        def locked(*args, **kwargs):
            raise OperationalError("UPDATE sessions", {}, Exception("database is locked"))

        app.state.jam.history.finish = locked
        host = client.post("/api/rooms", json={"song_id": song.id, "name": "Ana"}).json()
        with client.websocket_connect(WS) as ws:
            ws.send_json({"type": "hello", "code": host["code"], "token": host["token"]})
            ws.send_json({"type": "start"})
            while ws.receive_json()["type"] != "start":
                pass
            for i, n in enumerate(bar.notes):
                ws.send_json({"type": "hit", "seq": i, "time_s": n.time_s, "voice": n.voice.value})
            for _ in bar.notes:
                while ws.receive_json()["type"] != "judgment":
                    pass
            room = service.registry.get(host["code"])
            ws.portal.start_task_soon(service.end, room)
            while (msg := ws.receive_json())["type"] != "end":
                pass
        result = msg["result"]
        assert result["session_id"] is None and "could not be saved" in result["summary"]
        assert result["players"][0]["score"]["matched"] == len(bar)
    with TestClient(create_app(home=tmp_path, db_url=db)) as client:
        listed = client.get("/api/history").json()
        assert [s["status"] for s in listed] == ["interrupted"]
        saved = client.get(f"/api/history/{listed[0]['id']}").json()
        assert [len(t) for t in saved["takes"]] == [len(bar)]
