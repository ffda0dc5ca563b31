"""Remote rooms through their life: a host waiting long for the partner, a join after the end,
the same player's room opened in a second window."""

import pytest
from fastapi.testclient import TestClient
from room_support import groove_song, room_app
from starlette.websockets import WebSocketDisconnect

from drumjam.session.rooms import IDLE_TTL_S, Room, RoomError, RoomNotFoundError, RoomRegistry
from drumjam.web.room_routes import CLOSE_REPLACED

WS = "/api/rooms/ws"


@pytest.fixture(scope="module")
def song():
    return groove_song(bars=1)


def _hello(ws, seat: dict) -> dict:
    ws.send_json({"type": "hello", "code": seat["code"], "token": seat["token"]})
    while (msg := ws.receive_json())["type"] != "welcome":
        pass
    return msg


def test_a_host_waiting_for_their_partner_keeps_the_room(song):
    """The host's page stays in the room 11 minutes before the partner opens the link: the
    room was forgotten 10 minutes after it was made (the partner got 'no room has this join
    code' while the host still waited); now only a room nobody is in is forgotten, 10 minutes
    after the last one left."""
    reg = RoomRegistry()
    room = reg.create(song, "Ana", 0.0)
    room.set_connected(room.seats[0], True, 1.0)
    reg.sweep(IDLE_TTL_S + 60.0)
    assert reg.get(room.code) is room
    assert room.join("Bo").letter == "B"
    room.set_connected(room.seats[0], False, 700.0)
    reg.sweep(700.0 + IDLE_TTL_S - 1.0)
    assert reg.get(room.code) is room
    reg.sweep(700.0 + IDLE_TTL_S + 1.0)
    with pytest.raises(RoomNotFoundError):
        reg.get(room.code)
    nobody = reg.create(song, "Cy", 2000.0)  # made, never entered: forgotten as before
    reg.sweep(2000.0 + IDLE_TTL_S + 1.0)
    with pytest.raises(RoomNotFoundError):
        reg.get(nobody.code)


def test_joining_an_ended_room_says_it_ended(song):
    room = Room(song, "Ana", 0.0)
    room.start(1.0)
    room.finish(20.0)
    with pytest.raises(RoomError, match="this room has ended; ask for a new room"):
        room.join("Bo")


def test_a_second_window_takes_the_seat_and_the_first_is_told_not_to_come_back(song):
    """The first connection was closed with code 1000, on which the page connects again, and
    takes the seat back from the second window, which connects again...; now 4409."""
    app = room_app(song, lead_in_s=600.0)
    with TestClient(app) as client:
        host = client.post("/api/rooms", json={"song_id": song.id, "name": "Ana"}).json()
        with client.websocket_connect(WS) as first:
            _hello(first, host)
            with client.websocket_connect(WS) as second:
                _hello(second, host)
                with pytest.raises(WebSocketDisconnect) as closed:
                    while True:
                        first.receive_json()
                assert closed.value.code == CLOSE_REPLACED
                second.send_json({"type": "ping", "t0_ms": 1.0})
                assert second.receive_json()["type"] == "pong"
        service = app.state.rooms
        assert service.sockets == {}  # nobody in: no entry left behind
        room = service.registry.get(host["code"])
        assert not room.seats[0].connected
