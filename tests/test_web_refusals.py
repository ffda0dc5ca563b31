"""What the jam app answers to input it cannot use: NaN and infinities in JSON bodies, upload
names that are no file names, audio that is no audio, a microphone ended that never streamed,
a hit sent twice, a lone surrogate, a beat-map correction out of bounds. Each gets a clear 4xx
or ``error`` naming the field or file (never a 500, a server path or silence)."""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path

import mido
import pytest
from fastapi.testclient import TestClient

from drumjam.errors import AudioFileError
from drumjam.library.catalogue import upload_error
from drumjam.web.app import create_app

JSON = {"content-type": "application/json"}
HITS = [{"voice": "kick" if i % 2 == 0 else "snare", "time_s": i * 0.5} for i in range(16)]


@pytest.fixture()
def client(tmp_path):
    with TestClient(create_app(home=tmp_path)) as c:
        yield c


def _strict_json(text: str):
    """The JSON of an answer, refusing NaN and Infinity as a browser's JSON.parse does."""
    def refuse(constant: str):
        raise AssertionError(f"{constant} in the answer is not JSON")
    return json.loads(text, parse_constant=refuse)


# ---------------------------------------------------------------- NaN and infinity in bodies
NON_FINITE = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity", "1e400": "Infinity"}
BODIES = [  # route, body with X where the number goes, where it is
    ("/api/sessions", '{"song_id": "slow-funk", "players": [{}], "speed": X}', ["body", "speed"]),
    ("/api/sessions", '{"song_id": "slow-funk", "players": [{"latency_ms": X}]}',
     ["body", "players", 0, "latency_ms"]),
    ("/api/calibration", '{"clicks_s": [0, 1, 2, X], "taps_s": []}', ["body", "clicks_s", 3]),
    ("/api/lessons", '{"name": "N", "tempo_bpm": 120, "hits": [{"voice": "kick", "time_s": X}]}',
     ["body", "hits", 0, "time_s"]),
    ("/api/lessons/x/attempts", '{"student": "s", "hits": [], "latency_ms": X}', ["body", "latency_ms"]),
    ("/api/songs/slow-funk/beatmap", '{"offset_ms": X}', ["body", "offset_ms"]),
]


@pytest.mark.parametrize(("url", "body", "loc"), BODIES)
def test_non_finite_numbers_in_a_body_are_a_422_naming_the_field(client, caplog, url, body, loc):
    for written, shown in NON_FINITE.items():
        with caplog.at_level(logging.ERROR, logger="drumjam.web"):
            r = client.post(url, content=body.replace("X", written), headers=JSON)
        assert r.status_code == 422, (written, r.text)
        (refusal,) = _strict_json(r.text)["detail"]
        assert refusal["loc"] == loc
        assert refusal["msg"] == "Input should be a finite number"
        assert refusal["input"] == shown
    assert not caplog.records  # nothing unexpected was logged


def test_a_refusal_of_several_fields_shows_each_input_as_json(client):
    r = client.post("/api/sessions", headers=JSON, content='{"song_id": "slow-funk", "players": '
                    '[{"name": "\\ud800"}], "speed": 1e400, "extra": [NaN, {"x": -Infinity}]}')
    assert r.status_code == 422
    refusals = {tuple(d["loc"]): d for d in _strict_json(r.text)["detail"]}
    assert refusals[("body", "speed")]["input"] == "Infinity"
    assert refusals[("body", "extra")]["input"] == ["NaN", {"x": "-Infinity"}]
    assert refusals[("body", "players", 0, "name")]["input"] == "\\ud800"  # escaped, not dropped
    again = client.post("/api/sessions", json={"song_id": "slow-funk", "players": [{}]})
    assert again.status_code == 201  # the same client goes on


def test_a_file_sent_as_text_is_not_echoed_whole(client):
    r = client.post("/api/lessons/upload", data={"name": "U", "file": "x" * 100_000})
    assert r.status_code == 422
    (refusal,) = r.json()["detail"]
    assert refusal["loc"] == ["body", "file"] and len(refusal["input"]) <= 201


# ---------------------------------------------------------------- upload names
def _midi() -> bytes:
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000, time=0)])
    for i in range(8):
        track.append(mido.Message("note_on", channel=9, note=36 if i % 2 == 0 else 38,
                                  velocity=100, time=0 if i == 0 else 230))
        track.append(mido.Message("note_off", channel=9, note=36, velocity=0, time=10))
    out = io.BytesIO()
    mido.MidiFile(ticks_per_beat=480, tracks=[track]).save(file=out)
    return out.getvalue()


def _post_file(client, url: str, filename: bytes, data: bytes, fields: dict[str, str]):
    """A multipart POST with the file name as raw bytes (httpx would escape NUL and newline)."""
    boundary = b"drumjamBoundary7"
    parts = [b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + k.encode()
             + b'"\r\n\r\n' + v.encode() + b"\r\n" for k, v in fields.items()]
    parts.append(b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="'
                 + filename + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + data + b"\r\n")
    return client.post(url, content=b"".join(parts) + b"--" + boundary + b"--\r\n",
                       headers={"content-type": "multipart/form-data; boundary=" + boundary.decode()})


NAMES = [  # as sent, as shown
    (b"a" * 300 + b".mid", "a" * 40),
    (b"..", ".."),
    (b"../../x.mid", "x.mid"),
    (b"ta\x00ke.mid", "take.mid"),
    (b"ta\nke.mid", "take.mid"),
]


@pytest.mark.parametrize(("sent", "shown"), NAMES)
def test_lesson_uploads_take_any_file_name(client, tmp_path, sent, shown):
    made = _post_file(client, "/api/lessons/upload", sent, _midi(), {"name": "groove"})
    assert made.status_code == 200, made.text
    assert made.json()["source"] == shown and made.json()["notes"] == 8
    attempt = _post_file(client, "/api/lessons/groove/attempts/upload", sent, _midi(),
                         {"student": "ada", "tempo_bpm": "120"})
    assert attempt.status_code == 200, attempt.text
    assert attempt.json()["played_pct"] == 100.0
    assert not (tmp_path.parent / "x.mid").exists()


@pytest.mark.parametrize(("sent", "shown"), NAMES + [(b"noise.wav", "noise.wav")])
def test_a_bad_upload_is_named_by_its_own_name(client, sent, shown):
    client.post("/api/lessons", json={"name": "groove", "tempo_bpm": 120, "hits": HITS})
    for url, fields in (("/api/lessons/upload", {"name": "bad"}),
                        ("/api/lessons/groove/attempts/upload", {"student": "ada"})):
        r = _post_file(client, url, sent, b"RIFF" + os.urandom(2000), fields)
        assert r.status_code == 400, r.text
        detail = r.json()["detail"]
        assert detail.startswith(f"{shown}: ") and "/" not in detail, detail


@pytest.mark.parametrize("suffix", ["wav", "mp3", "flac", "ogg"])
def test_a_song_upload_that_is_no_audio_names_the_file_not_a_server_path(client, tmp_path, suffix):
    r = client.post("/api/songs", files={"file": (f"my song.{suffix}", os.urandom(5000))})
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert detail.startswith(f"my song.{suffix}: not a readable audio file (")
    assert str(tmp_path) not in detail and "upload-" not in detail and "source." not in detail


@pytest.mark.parametrize("folder", ["upload-x1", "upload-é"])
def test_upload_errors_show_files_inside_the_upload_by_their_own_path(tmp_path, folder):
    copy = tmp_path / folder / "source.zip"
    member = copy.parent / "unpacked" / "Song" / "guitar.ogg"
    exc = AudioFileError(member, f"Error opening {os.fsencode(copy)!r}: bad; {member}, {copy}.",
                         f"see '{member}' in {copy.parent}")
    named = upload_error(exc, "my song.zip", copy)
    assert isinstance(named, AudioFileError)
    assert str(named) == ("my song.zip: Error opening 'my song.zip': bad; unpacked/Song/guitar.ogg, "
                          "my song.zip. (see 'unpacked/Song/guitar.ogg' in my song.zip)")


# ---------------------------------------------------------------- WebSocket messages
def _live(client, players=("Ann",)) -> dict:
    r = client.post("/api/sessions", json={"song_id": "slow-funk", "players": [
        {"name": n, "latency_ms": 0} for n in players]})
    assert r.status_code == 201, r.text
    return r.json()


MIC_START = {"type": "mic_start", "sample_rate": 48000, "timeline_zero_frame": 0,
             "cancel_bleed": False}


def _mic_ends(ws, before_start: tuple[dict, ...] = ()) -> list[str]:
    """``mic_end`` before the microphone started, then after it ended: the two errors."""
    errors = []
    for before in ((), (*before_start, MIC_START, {"type": "mic_end"})):
        for message in before:
            ws.send_json(message)
            assert ws.receive_json()["type"] in ("start", "mic_status")
        ws.send_json({"type": "mic_end"})
        reply = ws.receive_json()
        assert reply["type"] == "error", reply
        errors.append(reply["detail"])
    return errors


def test_a_local_microphone_ended_that_is_not_streaming_gets_an_error(client):
    live = _live(client)
    with client.websocket_connect(live["websocket"]) as ws:
        errors = _mic_ends(ws)
    assert errors == ["player 0's microphone is not streaming (it was never started, or has "
                      "ended); send 'mic_start' first"] * 2


def test_a_room_microphone_ended_that_is_not_streaming_gets_an_error(client):
    room = client.post("/api/rooms", json={"song_id": "slow-funk", "name": "Ana"}).json()
    with client.websocket_connect("/api/rooms/ws") as ws:
        ws.send_json({"type": "hello", "code": room["code"], "token": room["token"]})
        assert ws.receive_json()["type"] == "welcome"
        errors = _mic_ends(ws, before_start=({"type": "start"},))
    assert errors == ["your microphone is not streaming (it was never started, or has ended); "
                      "send 'mic_start' first"] * 2


def test_a_hit_sent_twice_in_a_local_session_is_a_duplicate_counted_once(client):
    live = _live(client, players=("Ann", "Bob"))
    note = live["plan"]["notes"][0]
    hit = {"type": "hit", "seq": 7, "time_s": note["time_s"] + 0.010, "voice": note["voice"]}
    with client.websocket_connect(live["websocket"]) as ws:
        ws.send_json(hit)
        first = ws.receive_json()
        assert first["duplicate"] is False and first["running"]["hits"] == 1
        ws.send_json(hit)
        again = ws.receive_json()
        assert again == {**again, "type": "judgment", "seq": 7, "player": 0, "duplicate": True,
                         "judgment": None, "offset_ms": None, "running": None}
        ws.send_json({**hit, "player": 1})  # the other player's seq 7 is their own
        other = ws.receive_json()
        assert other["duplicate"] is False and other["running"]["hits"] == 1
        ws.send_json({**hit, "seq": 8, "time_s": hit["time_s"] + 0.001})
        assert ws.receive_json()["running"]["hits"] == 2
        ws.send_json({"type": "finish"})
        while (reply := ws.receive_json())["type"] != "result":
            pass
    saved = client.get(f"/api/history/{reply['session_id']}").json()
    assert [len(take) for take in saved["takes"]] == [2, 1]


@pytest.mark.parametrize(("text", "expected"), [
    ('{"type": "hit", "seq": 1, "time_s": 1.0, "voice": "\\ud800"}', "lone UTF-16 surrogate"),
    ('{"type": "hit", "seq": 1, "time_s": 1.0, "voice": "\\udc00x"}', "lone UTF-16 surrogate"),
    ('{"type": "hit", "seq": 1, "time_s": 1.0, "voice": "\\ud800\\ud800"}', "lone UTF-16 surrogate"),
    ('{"type": "hit", "seq": 1, "time_s": 1.0, "voice": "\\u12"}', "message is not JSON (invalid escape"),
    ("hello", "message is not JSON (expected value at line 1 column 1); send one JSON object"),
])
def test_a_message_that_is_not_json_is_told_why(client, text, expected):
    live = _live(client)
    with client.websocket_connect(live["websocket"]) as ws:
        ws.send_text(text)
        reply = ws.receive_json()
    assert reply["type"] == "error" and expected in reply["detail"], reply
    assert "NaN" not in reply["detail"]


# ---------------------------------------------------------------- beat-map corrections
def test_beatmap_corrections_are_bounded_where_the_server_bounds_them(client):
    url = "/api/songs/slow-funk/beatmap"
    for body in ({"meter": 1}, {"meter": 13}, {"offset_ms": 500.5}, {"offset_ms": -501}):
        r = client.post(url, json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", *body], r.text
    for body in ({"meter": 2}, {"meter": 12}, {"offset_ms": 500}, {"offset_ms": -500}):
        r = client.post(url, json=body)  # past the model: a built-in song is refused by the library
        assert r.status_code == 400 and "exact beat map" in r.json()["detail"], r.text
    doc = (Path(__file__).parents[1] / "docs" / "protocol.md").read_text()
    assert "| `meter` | integer or null | minimum 2, maximum 12 | null |" in doc
    assert "| `offset_ms` | number | minimum -500.0, maximum 500.0 | 0.0 |" in doc
