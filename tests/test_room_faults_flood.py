"""Remote rooms under a flood of messages from one connection: read at a bounded rate.

(Measured on a uvicorn server, not here: the test client's streams yield at every message,
so one connection never holds its event loop. A connection flooding pings or hits for 20 s
held up another room's pings 44 / 1,477 ms (pings; median / worst) and 714 / 3,273 ms (hits);
paced, 0.9 / 68 and 0.9 / 87 ms, the server's memory flat.)"""

import time

import pytest
from fastapi.testclient import TestClient
from room_support import groove_song, room_app

WS = "/api/rooms/ws"


@pytest.fixture(scope="module")
def song():
    return groove_song(bars=1)


def _enter(client, ws, song) -> None:
    host = client.post("/api/rooms", json={"song_id": song.id, "name": "Ana"}).json()
    ws.send_json({"type": "hello", "code": host["code"], "token": host["token"]})
    assert ws.receive_json()["type"] == "welcome"


def _replies(ws, n: int) -> list[dict]:
    return [ws.receive_json() for _ in range(n)]


def test_a_flood_of_pings_is_read_at_the_rate(song):
    """220 pings at once, 20 in a burst then 200 a second: a second at least (they were all
    answered at once, however many)."""
    app = room_app(song, messages_per_s=200.0, message_burst=20)
    with TestClient(app) as client, client.websocket_connect(WS) as ws:
        _enter(client, ws, song)
        sent = time.monotonic()
        for i in range(220):
            ws.send_json({"type": "ping", "t0_ms": float(i)})
        pongs = _replies(ws, 220)
        assert len(pongs) == 220 and [p["t0_ms"] for p in pongs] == list(map(float, range(220)))
        assert time.monotonic() - sent >= 0.9


def test_a_reconnections_resend_is_not_slowed(song):
    """A page back after a minute away resends its unacknowledged hits at once (a minute of
    16th notes at 200 BPM: 800): within the burst, answered without waiting."""
    with TestClient(room_app(song, lead_in_s=600.0)) as client, \
            client.websocket_connect(WS) as ws:
        _enter(client, ws, song)
        ws.send_json({"type": "start"})
        while ws.receive_json()["type"] != "start":
            pass
        sent = time.monotonic()
        for seq in range(800):
            ws.send_json({"type": "hit", "seq": seq, "time_s": 0.075 * seq, "voice": "snare"})
        replies = _replies(ws, 800)
        assert [r["type"] for r in replies] == ["judgment"] * 800
        assert time.monotonic() - sent < 3.0  # paced at 250 a second it would take 3.2 s
