"""Remote rooms under odd messages: hits stamped far outside the song on the shared clock."""

import pytest
from fastapi.testclient import TestClient
from room_support import groove_song, room_app

from drumjam.session.rooms import Room, RoomError

WS = "/api/rooms/ws"


@pytest.fixture(scope="module")
def song():
    return groove_song(bars=1)


@pytest.fixture()
def app(song):
    # the song starts ten minutes after 'start': the room stays open while the test runs
    return room_app(song, lead_in_s=600.0)


def _next(ws, *kinds: str) -> dict:
    while True:
        msg = ws.receive_json()
        if msg["type"] in kinds:
            return msg


def test_a_hit_far_outside_the_song_is_refused_naming_the_clock(app, song):
    """A page whose clock is hours off sent hits that were each answered with an empty
    judgment (a count-in tap, or a hit after the song) and silently left out; now each gets an
    error naming its time, the room's range and the fix, and its seq stays free."""
    with TestClient(app) as client:
        host = client.post("/api/rooms", json={"song_id": song.id, "name": "Ana"}).json()
        with client.websocket_connect(WS) as ws:
            ws.send_json({"type": "hello", "code": host["code"], "token": host["token"]})
            _next(ws, "welcome")
            ws.send_json({"type": "start"})
            _next(ws, "start")
            length_s = song.beatmap.end_s
            for seq, time_s in enumerate((14000.0, -14000.0, length_s + 100.0, -602.0)):
                ws.send_json({"type": "hit", "seq": seq, "time_s": time_s, "voice": "snare"})
                refused = _next(ws, "judgment", "error")
                assert refused["type"] == "error" and refused["seq"] == seq, refused
                assert f"{time_s:.3f} s is outside this room's song" in refused["detail"]
                assert "-601.0 to" in refused["detail"] and "clock is off" in refused["detail"]
            # a warm-up tap after the start command, a hit just after the song: taken, not kept
            for seq, time_s in ((10, -599.0), (11, length_s + 5.0)):
                ws.send_json({"type": "hit", "seq": seq, "time_s": time_s, "voice": "snare"})
                taken = _next(ws, "judgment", "error")
                assert taken["type"] == "judgment" and taken["judgment"] is None, taken
            # the refused seq 0, sent again with its right time, is a new hit
            first = song.chart.notes[0]
            ws.send_json({"type": "hit", "seq": 0, "time_s": first.time_s, "voice": first.voice.value})
            again = _next(ws, "judgment", "error")
            assert again["type"] == "judgment" and not again["duplicate"]
            assert again["judgment"] == "perfect"


def test_room_hit_times_are_checked_before_they_are_kept(song):
    room = Room(song, "Ana", 0.0)
    ana = room.seats[0]
    room.start(10.0, lead_in_s=3.0)
    with pytest.raises(RoomError, match=r"hit time -4\.500 s is outside this room's song \(-4\.0"):
        room.add_hit(ana, 0, -4.5, "snare")
    with pytest.raises(RoomError, match="not finite"):
        room.add_hit(ana, 0, float("inf"), "snare")
    assert ana.hits == {}
    assert room.add_hit(ana, 0, -3.9, "snare").result is None  # a tap after the start command
