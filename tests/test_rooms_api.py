"""The room HTTP API and WebSocket protocol on a bare FastAPI app."""

import time

import pytest
from fastapi.testclient import TestClient
from room_support import groove_song, room_app
from starlette.websockets import WebSocketDisconnect

from drumjam.web import room_routes
from drumjam.web.room_routes import RoomService


@pytest.fixture(scope="module")
def song():
    return groove_song(bars=1)


@pytest.fixture()
def app(song):
    return room_app(song, lead_in_s=0.3, rejoin_grace_s=1.0)


def open_room(client: TestClient, song_id: str = "funk2"):
    host = client.post("/api/rooms", json={"song_id": song_id, "name": "Ana"})
    assert host.status_code == 201
    guest = client.post("/api/rooms/join", json={"code": host.json()["code"], "name": "Bo"})
    assert guest.status_code == 200
    return host.json(), guest.json()


WS = "/api/rooms/ws"


def hello(ws, seat: dict) -> None:
    ws.send_json({"type": "hello", "code": seat["code"], "token": seat["token"]})


def receive_until(ws, kind: str, limit: int = 50) -> dict:
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == kind:
            return msg
    raise AssertionError(f"no {kind} message")


def test_wrong_codes_and_tokens_are_refused(app):
    with TestClient(app) as client:
        host, guest = open_room(client)
        assert client.post("/api/rooms/join", json={"code": "not-the-code", "name": "X"}).status_code == 404
        assert client.post("/api/rooms/lookup", json={"code": "not-the-code"}).status_code == 404
        third = client.post("/api/rooms/join", json={"code": host["code"], "name": "Cy"})
        assert third.status_code == 409
        shown = client.post("/api/rooms/lookup", json={"code": host["code"]}).json()
        assert [p["name"] for p in shown["players"]] == ["Ana", "Bo"]
        assert "token" not in str(shown) and guest["token"] not in str(shown)
        for first in ({"type": "hello", "code": host["code"], "token": "wrong"},
                      {"type": "hello", "code": "wrong", "token": host["token"]},
                      {"type": "hello", "code": host["code"], "token": guest["token"] + "x"},
                      {"type": "ping", "t0_ms": 1.0}, ["hello"]):
            with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect(WS) as ws:
                ws.send_json(first)
                ws.receive_json()
            assert info.value.code == room_routes.CLOSE_NOT_ALLOWED
        wrong = {"code": host["code"], "token": "wrong"}
        assert client.post("/api/rooms/result", json=wrong).status_code == 404
        mine = {"code": host["code"], "token": host["token"]}
        assert client.post("/api/rooms/result", json=mine).status_code == 409  # not ended yet


def test_clock_ping_relay_resend_and_end(app, song):
    service: RoomService = app.state.rooms
    with TestClient(app) as client:
        host, guest = open_room(client)
        with client.websocket_connect(WS) as wa:
            hello(wa, host)
            welcome = wa.receive_json()
            assert welcome["type"] == "welcome" and welcome["seat"] == "A"
            assert welcome["received_seqs"] == []
            # a ping round trip brackets the server clock
            t0 = time.monotonic() * 1e3
            wa.send_json({"type": "ping", "t0_ms": t0})
            pong = receive_until(wa, "pong")
            t3 = time.monotonic() * 1e3
            assert pong["t0_ms"] == t0 and t0 <= pong["t1_ms"] <= pong["t2_ms"] <= t3
            wa.send_json({"type": "settings", "calibration_ms": 20})
            assert receive_until(wa, "settings")["calibration_ms"] == 20
            with client.websocket_connect(WS) as wb:
                hello(wb, guest)
                assert wb.receive_json()["seat"] == "B"
                assert receive_until(wa, "partner")["status"] == "connected"
                wa.send_json({"type": "start"})
                start_ms = receive_until(wa, "start")["start_ms"]
                assert receive_until(wb, "start")["start_ms"] == start_ms
                notes = song.chart.notes
                half = len(notes) // 2
                # A: every note 20 ms late on the clock (its calibration); B: 7 ms late
                for i, n in enumerate(notes[:half]):
                    wa.send_json({"type": "hit", "seq": i, "time_s": n.time_s + 0.020,
                                  "voice": n.voice, "velocity": 90})
                    ack = receive_until(wa, "judgment")
                    assert ack["seq"] == i and not ack["duplicate"]
                    relayed = receive_until(wb, "partner_hit")
                    assert relayed["voice"] == n.voice and relayed["velocity"] == 90
                for i, n in enumerate(notes):
                    wb.send_json({"type": "hit", "seq": i, "time_s": n.time_s + 0.007,
                                  "voice": n.voice})
                    assert receive_until(wb, "judgment")["offset_ms"] == pytest.approx(7.0, abs=0.01)
            # A reconnects and resends from 3 hits before where it was
            wa.close()
        with client.websocket_connect(WS) as wa:
            hello(wa, host)
            welcome = receive_until(wa, "welcome")
            assert welcome["received_seqs"] == list(range(half))
            dup = 0
            for i in range(half - 3, len(notes)):
                n = notes[i]
                wa.send_json({"type": "hit", "seq": i, "time_s": n.time_s + 0.020,
                              "voice": n.voice})
                dup += receive_until(wa, "judgment")["duplicate"]
            assert dup == 3
            # B is gone: at the end A gets the result (B's take kept, scored up to where he
            # left: every note, sent ahead of time), then the room closes
            end = receive_until(wa, "end", limit=500)
            result = end["result"]
            assert result["mode"] == "duet" and result["absent"] == ["Bo"]
            assert [p["score"]["matched"] for p in result["players"]] == [len(notes)] * 2
            assert result["players"][0]["score"]["mean_offset_ms"] == pytest.approx(0.0, abs=0.01)
        key = {"code": host["code"], "token": host["token"]}
        assert client.post("/api/rooms/result", json=key).json() == result
        assert len(service.registry) == 1


def test_bad_messages_get_an_error_not_a_crash(app):
    with TestClient(app) as client:
        host, _ = open_room(client)
        with client.websocket_connect(WS) as wa:
            hello(wa, host)
            wa.receive_json()
            for bad in ("not json", "[1, 2]", '{"type": "dance"}',
                        '{"type": "hit", "seq": 0, "time_s": 1, "voice": "snare"}',
                        '{"type": "hit", "seq": 0, "time_s": NaN, "voice": "snare"}',
                        '{"type": "settings", "calibration_ms": "soon"}'):
                wa.send_text(bad)
                assert wa.receive_json()["type"] == "error"
            wa.send_json({"type": "ping", "t0_ms": 1.0})
            assert wa.receive_json()["type"] == "pong"
