"""The jam app under hostile and careless input: each refused clearly, nothing played lost."""

from __future__ import annotations

import json
import logging
import threading

import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from drumjam.web import state as state_module
from drumjam.web.app import create_app
from drumjam.errors import InputError
from drumjam.web.protocol import json_depth_ok, parse_message

DEEP = "[" * 2000 + "]" * 2000


@pytest.fixture()
def app(tmp_path):
    return create_app(home=tmp_path, max_upload_bytes=1_000_000)


@pytest.fixture()
def client(app):
    with TestClient(app) as c:
        yield c


def _start(client, names=("Ann",), song="slow-funk"):
    r = client.post("/api/sessions", json={"song_id": song, "players": [
        {"name": n, "latency_ms": 0} for n in names]})
    assert r.status_code == 201, r.text
    return r.json()


def _hit(seq, note, player=0, shift_s=0.0, **extra):
    return {"type": "hit", "seq": seq, "player": player, "time_s": note["time_s"] + shift_s,
            "voice": note["voice"], **extra}


BAD_HITS = (
    ('{"type": "hit", "seq": 1, "time_s": NaN, "voice": "kick"}', "time_s: Input should be a finite number"),
    ('{"type": "hit", "seq": 1, "time_s": Infinity, "voice": "kick"}', "time_s"),
    ('{"type": "hit", "seq": 1, "time_s": -Infinity, "voice": "kick"}', "time_s"),
    ('{"type": "hit", "seq": 1, "time_s": 1e308, "voice": "kick"}', "time_s"),
    ('{"type": "hit", "seq": 1, "time_s": 2.0, "voice": "kick", "velocity": 1e400}', "velocity"),
    ('{"type": "hit", "seq": 1, "time_s": 2.0, "voice": "kick", "velocity": true}', "velocity"),
    ('{"type": "hit", "seq": true, "time_s": 2.0, "voice": "kick"}', "seq"),
    ('{"type": "hit", "seq": 1, "time_s": 2.0, "voice": "hihat_open", "openness": 1e999}', "openness"),
    ('{"type": "hit", "seq": 1, "time_s": 2.0, "voice": "hihat_open", "openness": 7}', "openness"),
    ('{"type": "hit", "seq": 1, "time_s": "2.0", "voice": "kick"}', "time_s"),
    ('{"type": "hit", "seq": 1, "time_s": 2.0, "voice": "' + "k" * 100 + '"}', "voice"),
    ('{"type": "hit", "seq": 1, "time_s": 2.0, "voice": "kick", "extra": 1}', "extra"),
    (DEEP, "nests deeper"),
    ("x" * 5000, "too long"),
)


def test_hostile_hits_get_an_error_each_and_the_take_survives(client):
    """NaN, Infinity, 1e308, booleans, huge strings, deep JSON and binary frames: an error
    reply each; the good hits around them are scored and saved, every field finite."""
    live = _start(client, names=("Ann", "Bob"))
    notes = live["plan"]["notes"]
    with client.websocket_connect(live["websocket"]) as ws:
        ws.send_json(_hit(0, notes[0], shift_s=0.010))
        assert ws.receive_json()["offset_ms"] == pytest.approx(10.0, abs=0.01)
        for bad, expect in BAD_HITS:
            ws.send_text(bad)
            reply = ws.receive_json()
            assert reply["type"] == "error" and expect in reply["detail"], (bad[:60], reply)
        ws.send_bytes(b"\x00\x01binary")
        reply = ws.receive_json()
        assert reply["type"] == "error" and "binary" in reply["detail"]
        ws.send_json(_hit(1, notes[1], player=1, shift_s=-0.005, openness=0.5))
        assert ws.receive_json()["offset_ms"] == pytest.approx(-5.0, abs=0.01)
        ws.send_json({"type": "finish"})
        result = ws.receive_json()
    assert result["type"] == "result"
    saved = client.get(f"/api/history/{result['session_id']}/results.json")
    assert saved.status_code == 200
    takes = json.loads(saved.content, parse_constant=pytest.fail)["takes"]
    assert [len(t) for t in takes] == [1, 1]


def test_a_bad_message_in_a_room_leaves_the_partner_connected(tmp_path):
    app = create_app(home=tmp_path)
    with TestClient(app) as client:
        host = client.post("/api/rooms", json={"song_id": "slow-funk", "name": "Ana"}).json()
        guest = client.post("/api/rooms/join", json={"code": host["code"], "name": "Bo"}).json()
        with client.websocket_connect("/api/rooms/ws") as wa, client.websocket_connect("/api/rooms/ws") as wb:
            wa.send_json({"type": "hello", "code": host["code"], "token": host["token"]})
            assert wa.receive_json()["type"] == "welcome"
            wb.send_json({"type": "hello", "code": guest["code"], "token": guest["token"]})
            assert wb.receive_json()["type"] == "welcome"
            assert wa.receive_json()["status"] == "connected"
            for bad in ('{"type": "hit", "seq": 0, "time_s": NaN, "voice": "kick"}', DEEP,
                        '{"type": "ping", "t0_ms": Infinity}', '{"type": "finish"}'):
                wa.send_text(bad)
                reply = wa.receive_json()
                while reply["type"] == "partner":
                    reply = wa.receive_json()
                assert reply["type"] == "error", reply
            wa.send_bytes(b"\xff")
            assert wa.receive_json()["type"] == "error"
            wa.send_json({"type": "ping", "t0_ms": 1.0})
            assert wa.receive_json()["type"] == "pong"
            wb.send_json({"type": "ping", "t0_ms": 2.0})
            reply = wb.receive_json()
            assert reply["type"] == "pong", reply  # no "partner disconnected" came first


def test_deep_or_oversized_bodies_are_refused_before_parsing(client):
    r = client.post("/api/sessions", content=DEEP, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "deeper" in r.json()["detail"]
    # an upload is counted while it streams: no Content-Length to trust
    def chunks():
        for _ in range(40):
            yield b"x" * 65536
    r = client.post("/api/songs", content=chunks(),
                    headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    r = client.post("/api/lessons/upload", content=chunks(),
                    headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413
    assert not json_depth_ok(DEEP) and json_depth_ok('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')


def test_huge_ids_and_offsets_are_4xx(client):
    for url in ("/api/history/99999999999999999999999", "/api/history?offset=1e23",
                "/api/history?offset=99999999999999999999999", "/api/history?limit=0",
                "/api/history/0", "/api/history/1/take/99999999999999999999.mid"):
        r = client.get(url)
        assert 400 <= r.status_code < 500, (url, r.status_code)
    assert client.get("/api/history/12345").status_code == 404


def test_non_latin_lesson_name_downloads_with_rfc5987_filename(client):
    beat_s = 0.5
    hits = [{"time_s": bar * 2 + k * beat_s / 2, "voice": "hihat_closed"}
            for bar in range(4) for k in range(8)]
    hits += [{"time_s": bar * 2 + k * beat_s, "voice": v}
             for bar in range(4) for k, v in ((0, "kick"), (1, "snare"), (2, "kick"), (3, "snare"))]
    r = client.post("/api/lessons", json={"name": "中文课", "tempo_bpm": 120, "hits": hits})
    assert r.status_code == 200, r.text
    xml = client.get("/api/lessons/中文课/notation.musicxml")
    assert xml.status_code == 200 and xml.content.startswith(b"<?xml")
    disposition = xml.headers["content-disposition"]
    assert "filename*=UTF-8''%E4%B8%AD%E6%96%87%E8%AF%BE.musicxml" in disposition
    assert disposition.isascii()


def test_the_same_lesson_name_created_at_once_is_one_lesson(app):
    hits = [{"time_s": k * 0.25, "voice": "kick" if k % 4 == 0 else "hihat_closed"} for k in range(32)]
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def create() -> None:
        with TestClient(app, raise_server_exceptions=False) as c:
            barrier.wait()
            statuses.append(c.post("/api/lessons", json={"name": "race", "tempo_bpm": 120,
                                                         "hits": hits}).status_code)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses).count(200) == 1 and set(statuses) <= {200, 400, 409}, statuses


def test_finish_twice_saves_one_history_row(client):
    live = _start(client)
    notes = live["plan"]["notes"]
    with client.websocket_connect(live["websocket"]) as first, \
            client.websocket_connect(live["websocket"]) as second:
        for i in range(5):
            first.send_json(_hit(i, notes[i]))
            first.receive_json()
        first.send_json({"type": "finish"})
        second.send_json({"type": "finish"})
        a, b = first.receive_json(), second.receive_json()
    assert a["type"] == b["type"] == "result" and a["session_id"] == b["session_id"]
    assert [s["id"] for s in client.get("/api/history").json()] == [a["session_id"]]


def test_rate_limits_keep_one_address_from_filling_the_tables(tmp_path):
    # the default bursts, refilled too slowly to matter while the test runs
    app = create_app(home=tmp_path, rate_limits={"sessions": (60, 0.01), "rooms": (10, 0.01)})
    with TestClient(app, client=("203.0.113.7", 4000)) as flood:
        codes = [flood.post("/api/rooms", json={"song_id": "slow-funk"}).status_code
                 for _ in range(200)]
        assert codes.count(201) == 10 and codes.count(429) == 190
        r = flood.post("/api/rooms", json={"song_id": "slow-funk"})
        assert int(r.headers["retry-after"]) >= 1
        sessions = [flood.post("/api/sessions", json={"song_id": "slow-funk", "players": [{}]}).status_code
                    for _ in range(100)]
        assert sessions.count(201) == 60 and sessions.count(429) == 40
    with TestClient(app, client=("198.51.100.2", 4000)) as other:
        assert other.post("/api/rooms", json={"song_id": "slow-funk"}).status_code == 201
        assert other.post("/api/sessions", json={"song_id": "slow-funk", "players": [{}]}).status_code == 201


def test_live_sessions_in_use_are_never_evicted(tmp_path, monkeypatch):
    monkeypatch.setattr(state_module, "MAX_LIVE_SESSIONS", 4)
    app = create_app(home=tmp_path, rate_limits={"sessions": (100, 100.0)})
    with TestClient(app) as client:
        live = _start(client)
        note = live["plan"]["notes"][0]
        with client.websocket_connect(live["websocket"]) as ws:
            for _ in range(3):
                _start(client)
            codes = {client.post("/api/sessions", json={"song_id": "slow-funk", "players": [{}]}).status_code
                     for _ in range(20)}
            assert codes == {503}
            ws.send_json(_hit(0, note))
            assert ws.receive_json()["judgment"] == "perfect"
            # sessions nobody is connected to are forgotten once idle for long enough
            monkeypatch.setattr(state_module, "LIVE_IDLE_S", 0.0)
            assert client.post("/api/sessions", json={"song_id": "slow-funk", "players": [{}]}).status_code == 201
            ws.send_json(_hit(1, live["plan"]["notes"][1]))
            assert ws.receive_json()["type"] == "judgment"


def test_other_origins_and_hosts_are_refused(client):
    body = {"song_id": "slow-funk", "players": [{}]}
    evil = {"origin": "http://evil.example"}
    assert client.post("/api/sessions", json=body, headers=evil).status_code == 403
    assert client.post("/api/rooms", json={"song_id": "slow-funk"}, headers={"origin": "null"}).status_code == 403
    assert client.post("/api/sessions", json=body, headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert client.post("/api/sessions", json=body, headers={"origin": "http://testserver"}).status_code == 201
    assert client.get("/api/songs", headers=evil).status_code == 200  # reading is harmless
    live = _start(client)
    with pytest.raises(WebSocketDisconnect) as closed:
        with client.websocket_connect(live["websocket"], headers=evil) as ws:
            ws.receive_json()
    assert closed.value.code == 4403
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/api/rooms/ws", headers=evil) as ws:
            ws.receive_json()
    assert client.get("/api/songs", headers={"host": "rebind.evil.example"}).status_code == 400


def test_security_headers(client):
    for url in ("/", "/api/songs", "/api/history/999"):
        headers = client.get(url).headers
        assert "frame-ancestors 'self'" in headers["content-security-policy"]
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_an_unexpected_error_is_logged_and_a_short_500(app, caplog):
    def boom() -> None:
        raise ZeroDivisionError("deliberate")

    app.router.routes.insert(0, APIRoute("/api/boom", boom))
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        r = client.get("/api/boom")
    assert r.status_code == 500 and r.json() == {"detail": "internal error; it was logged on the server"}
    record = next(rec for rec in caplog.records if rec.name == "drumjam.web")
    assert record.exc_info[0] is ZeroDivisionError and "/api/boom" in record.getMessage()


def test_an_unexpected_error_on_a_websocket_is_one_error_reply(client, monkeypatch, caplog):
    live = _start(client)
    notes = live["plan"]["notes"]
    from drumjam.session.live import LiveSession

    real = LiveSession.add_hit
    calls = {"n": 0}

    def flaky(self, player, hit):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ZeroDivisionError("deliberate")
        return real(self, player, hit)

    monkeypatch.setattr(LiveSession, "add_hit", flaky)
    with client.websocket_connect(live["websocket"]) as ws, caplog.at_level(logging.ERROR):
        replies = []
        for i in range(3):
            ws.send_json(_hit(i, notes[i]))
            replies.append(ws.receive_json())
    assert [r["type"] for r in replies] == ["judgment", "error", "judgment"]
    assert replies[1] == {"type": "error", "seq": 1, "detail": "internal error; it was logged on the server"}
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)


def test_the_protocol_document_is_generated_from_the_models():
    from pathlib import Path

    from drumjam.web.protocol import protocol_markdown

    doc = Path(__file__).parents[1] / "docs" / "protocol.md"
    assert doc.read_text(encoding="utf-8") == protocol_markdown() + "\n", \
        "regenerate it: python -m drumjam.web.protocol > docs/protocol.md"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
_VALID_HIT = {"type": "hit", "seq": 3, "player": 0, "time_s": 2.5, "voice": "snare", "velocity": 90}


@st.composite
def _mutated_messages(draw) -> str:
    """A valid hit with fields replaced, dropped or added, or any JSON, or any text."""
    kind = draw(st.sampled_from(["replace", "drop", "add", "json", "text"]))
    msg = dict(_VALID_HIT)
    if kind == "replace":
        msg[draw(st.sampled_from(sorted(msg)))] = draw(_JSON)
    elif kind == "drop":
        msg.pop(draw(st.sampled_from(sorted(msg))))
    elif kind == "add":
        msg[draw(st.text(max_size=8))] = draw(_JSON)
    elif kind == "json":
        msg = draw(_JSON)
    else:
        return draw(st.text(max_size=200))
    return json.dumps(msg, allow_nan=True)


@settings(max_examples=400, deadline=None)
@given(_mutated_messages())
def test_fuzzed_messages_parse_or_get_a_clear_error(text):
    try:
        parse_message(text)
    except InputError as exc:
        assert str(exc) and "Traceback" not in str(exc)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_mutated_messages(), min_size=20, max_size=40))
def test_fuzzed_messages_on_a_live_socket_each_get_one_answer(client, messages):
    live = _start(client)
    notes = live["plan"]["notes"]
    messages = [m for m in messages if not m.lstrip().startswith('{"type": "finish"')]
    with client.websocket_connect(live["websocket"]) as ws:
        for text in messages:
            ws.send_text(text)
            assert ws.receive_json()["type"] in ("judgment", "error")
        ws.send_json(_hit(100, notes[0]))
        assert ws.receive_json()["judgment"] == "perfect"
        ws.send_json({"type": "finish"})
        assert ws.receive_json()["type"] == "result"


def test_csp_lets_the_notation_font_in_and_nothing_more(client, groove_midi):
    """verovio embeds its music font in the notation SVG as a data: URL; the CSP allows
    fonts from the app and data: URLs only."""
    import re

    from drumjam.io.midi import read_take
    from drumjam.lesson import excerpt, extract_pattern, pattern_svg

    take = read_take(groove_midi / "drummer1" / "eval_session" / "1_funk-groove1_138_beat_4-4.mid")
    svg = pattern_svg(extract_pattern(excerpt(take, 0, 4)), title="Funk")
    sources = re.findall(r"@font-face\s*\{[^}]*?src:\s*url\(([a-z]+):", svg)
    assert sources and set(sources) == {"data"}
    csp = client.get("/lesson/").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["font-src"] == "'self' data:"
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"


def _serve(port: int, home, *options: str):
    import subprocess
    import sys

    env = {**__import__("os").environ, "DRUMJAM_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "drumjam", "serve", "--port", str(port), *options],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _rooms_until_refused(base: str, forwarded_for: str) -> int:
    import httpx

    for n in range(1, 40):
        r = httpx.post(f"{base}/api/rooms", json={"song_id": "slow-funk"},
                       headers={"x-forwarded-for": forwarded_for, "origin": base})
        if r.status_code == 429:
            return n
        assert r.status_code == 201, r.text
    return 0


@pytest.mark.parametrize("trusted", [True, False])
def test_rate_limits_key_on_the_forwarded_client_only_behind_a_trusted_proxy(tmp_path, trusted):
    """With --forwarded-allow-ips naming the proxy (here loopback), each client the proxy
    forwards has its own limit; without it, X-Forwarded-For is not believed."""
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = _serve(port, tmp_path, *(["--forwarded-allow-ips", "127.0.0.1"] if trusted else []))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/songs", timeout=1)
                break
            except httpx.HTTPError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                time.sleep(0.2)
        assert _rooms_until_refused(base, "203.0.113.7") == 11  # ten rooms, then 429
        other = _rooms_until_refused(base, "198.51.100.2")
        assert other == (11 if trusted else 1)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_bad_proxy_address_is_refused_with_the_fix(tmp_path):
    server = _serve(8999, tmp_path, "--forwarded-allow-ips", "10.0.0.1,proxy.example")
    _, err = server.communicate(timeout=60)
    assert server.returncode == 2
    assert "--forwarded-allow-ips: 'proxy.example' is not an IP address or network" in err.decode()
