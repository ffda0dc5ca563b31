"""Two acoustic kits in one room, each microphone on its own device joined to one session.

The host's device and the joined one each run their own audio clock: the joined device's
starts elsewhere and runs 300 ppm fast (4 ms over the 14 s played, more than the 3 ms the
figures must keep). Both measure their audio clock against the server's over the join link
(ping, pong, then the four stamps reported; each round trip a little asymmetric). The server
clock is a virtual one that the test moves on as the audio is "played", so the streaming runs
as fast as the machine allows while the clocks see real time pass. The room of
:mod:`test_mic_room_pair` (two sampled kits, microphones 0.4 m from their own kit and
2.6-3.2 m from the other, reverb) is heard: each device records and streams only its own
microphone, sampled on its own clock.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack

import numpy as np
import pytest
import soxr
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from drumjam.session.mic import encode_frame
from drumjam.web.app import create_app
from drumjam.web.join_link import JoinService
from mic_room import flight_s
from test_mic_room_pair import NAMES, SONG_S, SR, _check_result, _duet, check_mics  # noqa: F401

HOST_AUDIO_S = 7.0  # the host's audio clock reads server time + 7 s
JOINED_ZERO_S, JOINED_AT_S, DRIFT = 3.0, 0.2, 300e-6  # joined: (server - 3 s)(1 + drift) + 0.2 s
DEVICES = ("Host Microphone", "Phone Microphone")
CHUNK = SR // 2
PING_S = 0.5


class Clocks:
    """The virtual server clock and the two devices' audio clocks on it."""

    def __init__(self) -> None:
        self.server_s = 0.0
        self.rng = np.random.default_rng(3)

    def audio_s(self, seat: int, server_s: float) -> float:
        if seat == 0:
            return server_s + HOST_AUDIO_S
        return (server_s - JOINED_ZERO_S) * (1 + DRIFT) + JOINED_AT_S

    def server_of(self, seat: int, audio_s: float) -> float:
        if seat == 0:
            return audio_s - HOST_AUDIO_S
        return (audio_s - JOINED_AT_S) / (1 + DRIFT) + JOINED_ZERO_S

    def joined_frame(self, host_frame: float) -> float:
        """The joined device's audio frame at the host's ``host_frame``."""
        return self.audio_s(1, self.server_of(0, host_frame / SR)) * SR


@pytest.fixture()
def rig(tmp_path):
    """The app on a virtual server clock, and that clock."""
    clocks = Clocks()
    app = create_app(home=tmp_path, db_url=os.environ.get("DRUMJAM_DB_URL"), max_upload_bytes=8_000_000)
    app.state.joins = JoinService(clock_s=lambda: clocks.server_s)
    with TestClient(app) as client:
        yield client, clocks


def _ping(ws, seat: int, clocks: Clocks) -> dict:
    """One round trip of the device on ``seat`` at the current virtual time: 1-2 ms out and
    back, the two ways a little different."""
    out_s, back_s = 0.001 + clocks.rng.uniform(0, 4e-4, 2)
    t0 = clocks.audio_s(seat, clocks.server_s - out_s) * 1e3
    ws.send_json({"type": "ping", "t0_ms": t0})
    pong = _next(ws, "pong")
    t3 = clocks.audio_s(seat, clocks.server_s + back_s) * 1e3
    ws.send_json({"type": "clock", "t0_ms": t0, "t1_ms": pong["t1_ms"], "t2_ms": pong["t2_ms"], "t3_ms": t3})
    return _next(ws, "clock_status")


def _next(ws, kind: str) -> dict:
    """The next message of a kind (others passed over)."""
    while True:
        msg = ws.receive_json()
        if msg["type"] == kind:
            return msg
        assert msg["type"] != "error", msg


def _sync(host, joined, clocks: Clocks, seconds: float) -> None:
    for _ in range(int(seconds / PING_S)):
        clocks.server_s += PING_S
        _ping(host, 0, clocks)
        _ping(joined, 1, clocks)


def _on_joined_clock(x: np.ndarray, host_frame: int, clocks: Clocks) -> tuple[np.ndarray, int]:
    """What the joined device records of a sound that starts at the host's ``host_frame``:
    its samples on the device's clock (1 + drift as many) and its first device frame."""
    return soxr.resample(x, SR, SR * (1 + DRIFT)).astype(np.float32), round(clocks.joined_frame(host_frame))


def _link(client, clocks: Clocks):
    r = client.post("/api/joins")
    assert r.status_code == 201 and r.json()["qr_data_uri"].startswith("data:image/svg+xml")
    link = r.json()
    assert link["join_url"].endswith(f"/join.html#code={link['code']}")
    return link


def _hello(ws, code: str, token: str = "") -> dict:
    ws.send_json({"type": "hello", "code": code, "token": token})
    return _next(ws, "join_welcome")


def test_two_devices_clocks_apart_attribute_and_time_every_hit(rig, check_mics) -> None:  # noqa: F811
    client, clocks = rig
    link = _link(client, clocks)
    with client.websocket_connect("/ws/joins") as host, client.websocket_connect("/ws/joins") as joined:
        assert _hello(host, link["code"], link["token"])["seat"] == 0
        host.send_json({"type": "seat", "device": DEVICES[0], "names": list(NAMES), "sample_rate": SR})
        welcome = _hello(joined, link["code"])
        assert welcome["seat"] == 1 and welcome["names"] == list(NAMES) and welcome["sample_rate"] == SR
        joined.send_json({"type": "seat", "device": DEVICES[1]})
        assert _next(host, "join_partner")["status"] == "connected"
        # a third device is refused, and so is the room check before the clocks are synced
        with client.websocket_connect("/ws/joins") as third:
            third.send_json({"type": "hello", "code": link["code"], "token": ""})
            assert "a third device cannot join" in third.receive_json()["detail"]
        _sync(host, joined, clocks, 1.0)
        host.send_json({"type": "room_check", "player": 0})
        assert "not synchronised yet" in _next(host, "error")["detail"]
        _sync(host, joined, clocks, 12.0)

        # the room checks: each device records its own microphone while one player plays
        for k in (0, 1):
            host.send_json({"type": "room_check", "player": k})
            for ws in (host, joined):
                assert _next(ws, "room_check")["name"] == NAMES[k]
            at = round(clocks.audio_s(0, clocks.server_s) * SR)
            host.send_bytes(encode_frame(check_mics[k][0], player=0, seq=0, first_frame=at))
            x, first = _on_joined_clock(check_mics[k][1], at, clocks)
            joined.send_bytes(encode_frame(x, player=1, seq=0, first_frame=first))
            checked = [_next(ws, "room_checked") for ws in (host, joined)]
            assert checked[0] == checked[1] and checked[0]["room"] is not None, checked
            truth_ms = 1000 * (flight_s(1 - k, k) - flight_s(k, k))
            assert checked[0]["room"]["delay_ms"] == pytest.approx(truth_ms, abs=0.5)
            clocks.server_s += 9.0
            _sync(host, joined, clocks, 1.0)
        stored = client.get("/api/kitcheck", params={"name": NAMES[1], "device": DEVICES[1]}).json()
        assert stored["room"]["hits"] >= 20  # player 2's room check, stored for their device

        live = client.post("/api/sessions", json={
            "song_id": "slow-funk", "join": {"code": link["code"], "token": link["token"]},
            "players": [{"name": n, "input": "mic", "device": d, "latency_ms": 0.0}
                        for n, d in zip(NAMES, DEVICES)]}).json()
        truth, mics, notes = _duet(live["plan"])
        zero = round(clocks.audio_s(0, clocks.server_s + 1.0) * SR)  # the song starts in 1 s
        with client.websocket_connect(live["websocket"]) as ws:
            ws.send_json({"type": "mic_start", "player": 0, "sample_rate": SR, "timeline_zero_frame": zero,
                          "cancel_bleed": False, "device": DEVICES[0], "room_pair": True})
            assert _next(ws, "mic_status")["status"] == "started"
            run = _next(joined, "run")
            assert run["player"] == 1 and run["names"] == list(NAMES)
            assert run["zero_server_ms"] == pytest.approx(1000 * clocks.server_of(0, zero / SR), abs=0.1)
            joined.send_json({"type": "mic_start", "sample_rate": SR, "timeline_zero_frame": 0,
                              "cancel_bleed": False, "device": DEVICES[1]})
            assert _next(joined, "mic_status")["status"] == "started"
            other, first = _on_joined_clock(mics[1], zero, clocks)
            clocks.server_s += 1.0
            for lo in range(0, mics[0].size, CHUNK):  # half a second from each device, in time
                for i in range(lo, min(lo + CHUNK, mics[0].size), SR // 50):
                    ws.send_bytes(encode_frame(mics[0][i:i + SR // 50], player=0, seq=i, first_frame=zero + i))
                hi = round((lo + CHUNK) * (1 + DRIFT))
                for i in range(round(lo * (1 + DRIFT)), min(hi, other.size), SR // 50):
                    joined.send_bytes(encode_frame(other[i:min(i + SR // 50, hi)], player=1, seq=i,
                                                   first_frame=first + i))
                clocks.server_s += CHUNK / SR
                _ping(host, 0, clocks)
                _ping(joined, 1, clocks)
            joined.send_json({"type": "mic_end"})
            ws.send_json({"type": "mic_end", "player": 0})
            ws.send_json({"type": "finish", "stop_s": SONG_S})
            replies = _until(ws, "result")
            ended = _next(joined, "join_end")
    assert ended["session_id"] == replies[-1]["session_id"]
    assert not [m for m in replies if m["type"] == "error"]
    judged = [m for m in replies if m["type"] == "judgment" and m["time_s"] is not None]
    assert {m["player"] for m in judged} == {0, 1}  # the host sees player 2's marks too
    _check_result(client, replies[-1], judged, truth, notes)


def _until(ws, kind: str) -> list[dict]:
    out = [ws.receive_json()]
    while out[-1]["type"] != kind:
        out.append(ws.receive_json())
    return out


def test_a_link_that_ended_or_never_was_is_told_so(rig, monkeypatch) -> None:
    from drumjam.web import join_routes

    monkeypatch.setattr(join_routes, "HOST_RETURN_S", 0.2)
    client, clocks = rig
    with client.websocket_connect("/ws/joins") as ws:
        ws.send_json({"type": "hello", "code": "nonsense", "token": ""})
        assert "no jam has this join link" in ws.receive_json()["detail"]
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()
    link = _link(client, clocks)
    with client.websocket_connect("/ws/joins") as host:
        _hello(host, link["code"], link["token"])
        # the song cannot start before player 2's device joined
        r = client.post("/api/sessions", json={
            "song_id": "slow-funk", "join": {"code": link["code"], "token": link["token"]},
            "players": [{"name": n, "input": "mic"} for n in NAMES]})
        assert r.status_code == 409 and "has not joined" in r.json()["detail"]
    time.sleep(0.5)
    with client.websocket_connect("/ws/joins") as late:  # the host left long ago: the jam ended
        late.send_json({"type": "hello", "code": link["code"], "token": ""})
        assert "this jam has ended" in late.receive_json()["detail"]


def test_the_host_page_reloaded_comes_back_to_its_link(rig, monkeypatch) -> None:
    """The joined device stays joined while the host's page reloads; a host gone for good
    ends the jam for it."""
    from drumjam.web import join_routes

    monkeypatch.setattr(join_routes, "HOST_RETURN_S", 1.0)
    client, clocks = rig
    link = _link(client, clocks)
    with client.websocket_connect("/ws/joins") as joined:
        with client.websocket_connect("/ws/joins") as host:
            _hello(host, link["code"], link["token"])
            host.send_json({"type": "seat", "device": DEVICES[0], "names": list(NAMES), "sample_rate": SR})
            token = _hello(joined, link["code"])["token"]
            assert _next(joined, "join_partner")["device"] == DEVICES[0]  # told who is there
        assert _next(joined, "join_partner")["status"] == "disconnected"  # the page reloads...
        with client.websocket_connect("/ws/joins") as host:  # ... and comes back within the wait
            welcome = _hello(host, link["code"], link["token"])
            assert welcome["seat"] == 0 and welcome["partner"]  # player 2's device still there
            assert _next(joined, "join_partner")["status"] == "connected"
            told = _next(host, "join_partner")  # and who it is
            assert told["status"] == "connected" and told["device"] == "" and told["names"] == list(NAMES)
            time.sleep(1.3)  # a wait that began before the return ends nothing
            joined.send_json({"type": "ping", "t0_ms": 0.0})
            assert _next(joined, "pong")
        assert _next(joined, "join_partner")["status"] == "disconnected"
        time.sleep(1.3)
        end = _next(joined, "join_end")
        assert end["closed"] and "the host left" in end["detail"]
        with pytest.raises(WebSocketDisconnect):
            joined.receive_json()
    with client.websocket_connect("/ws/joins") as again:  # its token no longer opens anything
        again.send_json({"type": "hello", "code": link["code"], "token": token})
        assert "this jam has ended" in again.receive_json()["detail"]


def test_the_partner_device_leaving_mid_song_keeps_every_hit(rig, check_mics) -> None:  # noqa: F811
    client, clocks = rig
    for k, mics in enumerate(check_mics):  # both room checks, stored as from one clock
        body = b"".join(encode_frame(mics[m], player=m, seq=0, first_frame=0) for m in (k, 1 - k))
        assert client.post("/api/kitcheck/room", content=body, headers={"content-type": "application/octet-stream"},
                           params={"sample_rate": SR, "name": NAMES[k], "device": DEVICES[k],
                                   "partner_device": DEVICES[1 - k]}).status_code == 200
    link = _link(client, clocks)
    with ExitStack() as stack:
        host = stack.enter_context(client.websocket_connect("/ws/joins"))
        _hello(host, link["code"], link["token"])
        host.send_json({"type": "seat", "device": DEVICES[0], "names": list(NAMES), "sample_rate": SR})
        with client.websocket_connect("/ws/joins") as joined:
            token = _hello(joined, link["code"])["token"]
            _sync(host, joined, clocks, 12.0)
            live = client.post("/api/sessions", json={
                "song_id": "slow-funk", "join": {"code": link["code"], "token": link["token"]},
                "players": [{"name": n, "input": "mic", "device": d, "latency_ms": 0.0}
                            for n, d in zip(NAMES, DEVICES)]}).json()
            truth, mics, notes = _duet(live["plan"])
            zero = round(clocks.audio_s(0, clocks.server_s) * SR)
            ws = stack.enter_context(client.websocket_connect(live["websocket"]))
            ws.send_json({"type": "mic_start", "player": 0, "sample_rate": SR, "timeline_zero_frame": zero,
                          "cancel_bleed": False, "device": DEVICES[0], "room_pair": True})
            _next(joined, "run")
            joined.send_json({"type": "mic_start", "sample_rate": SR, "timeline_zero_frame": 0,
                              "cancel_bleed": False, "device": DEVICES[1]})
            other, first = _on_joined_clock(mics[1], zero, clocks)
            left_s = 6.0
            for i in range(0, int(left_s * SR), SR // 50):
                ws.send_bytes(encode_frame(mics[0][i:i + SR // 50], player=0, seq=i, first_frame=zero + i))
                j = round(i * (1 + DRIFT))
                joined.send_bytes(encode_frame(other[j:j + SR // 50], player=1, seq=i, first_frame=first + j))
            joined.close()  # the page went away (the server finishes with it before the test does)
            # the joined device is gone mid-song: its microphone ended, the host plays on
            assert _next(host, "join_partner")["status"] == "disconnected"
        with client.websocket_connect("/ws/joins") as back:  # the page reloaded: it follows again
            assert _hello(back, link["code"], token)["seat"] == 1
            assert _next(back, "run")["zero_server_ms"] == pytest.approx(1000 * clocks.server_of(0, zero / SR),
                                                                         abs=0.1)
            back.close()
        for i in range(int(left_s * SR), mics[0].size, SR // 50):
            ws.send_bytes(encode_frame(mics[0][i:i + SR // 50], player=0, seq=i, first_frame=zero + i))
        ws.send_json({"type": "mic_end", "player": 0})
        ws.send_json({"type": "finish", "stop_s": SONG_S})
        replies = _until(ws, "result")
    assert not [m for m in replies if m["type"] == "error"]
    ended = [m for m in replies if m["type"] == "mic_status" and m["status"] == "ended"]
    assert {m["player"] for m in ended} == {0, 1}  # the host is told player 2's stream ended
    judged = [(m["player"], m["time_s"]) for m in replies if m["type"] == "judgment" and m["time_s"] is not None]
    late = [t for p, t in judged if p == 0 and t > left_s + 1.0]
    assert len(late) >= 0.9 * sum(left_s + 1.0 < h.time_s < SONG_S for h in truth[0])  # scored after
    saved = client.get(f"/api/history/{replies[-1]['session_id']}").json()["results"]
    before = sum(h.time_s < left_s - 0.5 for h in truth[1])
    # every hit player 2 played before leaving is kept (their notes after it are missed)
    assert before - 2 <= saved["players"][1]["score"]["matched"] <= before + 2


def test_a_room_check_one_device_never_records_is_given_up(rig, monkeypatch) -> None:
    from drumjam.web import join_routes

    monkeypatch.setattr(join_routes, "ROOM_CHECK_S", 0.2)
    monkeypatch.setattr(join_routes, "ROOM_CHECK_GRACE_S", 0.3)
    client, clocks = rig
    link = _link(client, clocks)
    with client.websocket_connect("/ws/joins") as host, client.websocket_connect("/ws/joins") as joined:
        _hello(host, link["code"], link["token"])
        host.send_json({"type": "seat", "device": DEVICES[0], "names": list(NAMES), "sample_rate": SR})
        _hello(joined, link["code"])
        _sync(host, joined, clocks, 5.0)
        joined.send_json({"type": "room_check", "player": 1})
        assert _next(host, "room_check")["player"] == 1
        host.send_bytes(encode_frame(np.zeros(SR // 5), player=0, seq=0, first_frame=0))
        for ws in (host, joined):  # player 2's device never sent its recording: both are told
            assert "no recording came from player 2's device" in _next(ws, "room_checked")["detail"]
