"""The jam app's REST API and WebSocket through FastAPI's TestClient."""

from __future__ import annotations

import io
import json
import os

import mido
import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from matplotlib.image import imread

from drumjam.io.midi import read_take
from drumjam.library import builtin_dir
from drumjam.web.app import create_app


@pytest.fixture()
def client(tmp_path):
    # the history tests ask for ``db_url`` too: one run per database backend
    app = create_app(home=tmp_path, db_url=os.environ.get("DRUMJAM_DB_URL"), max_upload_bytes=2_000_000)
    with TestClient(app) as c:
        yield c


def _start(client, song="slow-funk", names=("Ann",), **extra):
    body = {"song_id": song, "players": [{"name": n, "latency_ms": 0} for n in names], **extra}
    r = client.post("/api/sessions", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _play(client, live, offsets_ms, n_notes=40, seed=0):
    """Every player hits the first notes at their offset (+-2 ms jitter); returns the result."""
    rng = np.random.default_rng(seed)
    judgments = []
    with client.websocket_connect(live["websocket"]) as ws:
        for i, note in enumerate(live["plan"]["notes"][:n_notes]):
            for player, off in enumerate(offsets_ms):
                t = note["time_s"] + (off + rng.uniform(-2, 2)) / 1000
                ws.send_json({"type": "hit", "seq": i, "player": player, "time_s": t,
                              "voice": note["voice"], "velocity": 90})
                judgments.append(ws.receive_json())
        ws.send_json({"type": "finish"})
        result = ws.receive_json()
    return judgments, result


def test_builtin_library_covers_tempi_feels_and_meters(client):
    songs = client.get("/api/songs").json()
    assert len(songs) >= 4
    assert all(s["has_chart"] and s["notes"] > 100 and s["builtin"] for s in songs)
    tempi = [s["tempo_bpm"] for s in songs]
    assert min(tempi) <= 85 and max(tempi) >= 130
    assert {s["feel"] for s in songs} == {"straight", "swung"}
    assert {s["meter"] for s in songs} >= {3, 4}
    assert (builtin_dir() / "CREDITS.md").read_text().count("Groove MIDI Dataset, Gillick et al. 2019, CC BY 4.0") == 1


def test_backing_tracks_have_no_drums_and_match_the_chart_length(client):
    for song in client.get("/api/songs").json():
        folder = builtin_dir() / song["id"]
        backing = mido.MidiFile(folder / "backing.mid")
        channels = {m.channel for t in backing.tracks for m in t if m.type == "note_on"}
        assert 9 not in channels and channels
        info = sf.info(folder / "backing.ogg")
        chart_s = song["bars"] * song["meter"] * 60 / song["tempo_bpm"]
        assert chart_s <= info.duration <= chart_s + 8


def test_speed_changes_length_but_keeps_pitch(client):
    original, sr = sf.read(builtin_dir() / "slow-funk" / "backing.ogg", dtype="float32")
    r = client.get("/api/songs/slow-funk/audio", params={"speed": 0.5})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/ogg"
    slow, sr2 = sf.read(io.BytesIO(r.content), dtype="float32")
    assert sr2 == sr and slow.shape[0] / original.shape[0] == pytest.approx(2.0, rel=0.02)

    def peak_hz(x, n):
        mono = x.mean(axis=1) if x.ndim == 2 else x
        spec = np.abs(np.fft.rfft(mono[:n] * np.hanning(n)))
        freqs = np.fft.rfftfreq(n, 1 / sr)
        band = (freqs > 40) & (freqs < 1000)
        return freqs[band][np.argmax(spec[band])]

    # the same music (8 s at half speed = 4 s at full speed) peaks at the same frequency;
    # slowing down by resampling would have moved it an octave down
    for k in range(3):
        assert peak_hz(slow[k * 8 * sr:], 8 * sr) == pytest.approx(peak_hz(original[k * 4 * sr:], 4 * sr), rel=0.02)
    assert client.get("/api/songs/slow-funk/audio", params={"speed": 2}).status_code == 400


@pytest.mark.usefixtures("db_url")
def test_live_hits_are_judged_with_sign_and_magnitude_and_saved(client):
    live = _start(client, names=("Ann", "Bob"), speed=1.0)
    judgments, result = _play(client, live, offsets_ms=(25, -15))
    ann = [j for j in judgments if j["player"] == 0]
    bob = [j for j in judgments if j["player"] == 1]
    assert all(20 < j["offset_ms"] < 30 for j in ann)
    assert all(-20 < j["offset_ms"] < -10 for j in bob)
    assert ann[-1]["running"]["hits"] == 40 and bob[-1]["duet"]["mean_async_ms"] == pytest.approx(40, abs=3)
    assert result["type"] == "result"
    saved = client.get(f"/api/history/{result['session_id']}").json()
    players = saved["results"]["players"]
    assert players[0]["score"]["mean_offset_ms"] == pytest.approx(25, abs=1.5)
    assert players[1]["score"]["mean_offset_ms"] == pytest.approx(-15, abs=1.5)
    assert saved["results"]["duet"]["sync"]["mean_async_ms"] == pytest.approx(40, abs=1.5)
    assert client.get("/api/history").json()[0]["id"] == result["session_id"]


@pytest.mark.usefixtures("db_url")
def test_downloads(client, tmp_path):
    live = _start(client, names=("Ann", "Bob"))
    _, result = _play(client, live, offsets_ms=(10, -10), n_notes=30)
    sid = result["session_id"]
    saved = client.get(f"/api/history/{sid}/results.json")
    assert "attachment" in saved.headers["content-disposition"]
    takes = json.loads(saved.content)["takes"]
    for player in (0, 1):
        r = client.get(f"/api/history/{sid}/take/{player}.mid")
        assert r.status_code == 200
        (tmp_path / "t.mid").write_bytes(r.content)
        back = read_take(tmp_path / "t.mid")
        assert back.times_s() == pytest.approx([h["time_s"] for h in takes[player]], abs=0.002)
    assert client.get(f"/api/history/{sid}/take/5.mid").status_code == 404
    report = client.get(f"/api/history/{sid}/report.html")
    assert report.status_code == 200 and "Slow Funk in E" in report.text and "<img" in report.text
    card = client.get(f"/api/history/{sid}/card.png")
    pixels = imread(io.BytesIO(card.content), format="png")
    assert pixels.shape[:2] == (630, 1200) and pixels.std() > 0.05


def test_loop_and_speed_session_plan(client):
    live = _start(client, speed=0.8, loop={"first_bar": 1, "last_bar": 2, "repeats": 2})
    plan = live["plan"]
    bar_s = 4 * 60 / (80 * 0.8)
    assert plan["looped"] and plan["audio_start_s"] == pytest.approx(bar_s)
    assert plan["lead_in_s"] == pytest.approx(bar_s)
    assert plan["duration_s"] == pytest.approx(bar_s + 2 * 2 * bar_s)
    assert min(n["time_s"] for n in plan["notes"]) == pytest.approx(bar_s)
    assert live["audio_url"].endswith("speed=0.8")
    assert max(n["time_s"] for n in plan["notes"]) < plan["duration_s"]


@pytest.mark.usefixtures("db_url")
def test_calibration_is_stored_and_applied(client):
    clicks = [i * 0.6 for i in range(16)]
    taps = [c + 0.040 + (0.002 if i % 2 else -0.002) for i, c in enumerate(clicks)]
    r = client.post("/api/calibration", json={"name": "Cal", "clicks_s": clicks, "taps_s": taps})
    assert r.status_code == 200 and r.json()["latency_ms"] == pytest.approx(40, abs=2.5)
    assert client.get("/api/calibration/Cal").json()["latency_ms"] == pytest.approx(40, abs=2.5)
    live = client.post("/api/sessions", json={"song_id": "slow-funk", "players": [{"name": "Cal"}]}).json()
    assert live["players"][0]["latency_ms"] == pytest.approx(40, abs=2.5)
    judgments, _ = _play(client, live, offsets_ms=(40,), n_notes=20)
    assert all(abs(j["offset_ms"]) < 6 for j in judgments)
    bad = client.post("/api/calibration", json={"name": "Cal", "clicks_s": clicks, "taps_s": [0.3]})
    assert bad.status_code == 400 and "taps" in bad.json()["detail"]


# ---------------------------------------------------------------- bad input


def _saved_ids(client):
    return [s["id"] for s in client.get("/api/history").json()]


def test_bad_uploads_get_clear_messages_and_lose_nothing(client):
    live = _start(client)
    _, first = _play(client, live, offsets_ms=(5,), n_notes=10)
    before = _saved_ids(client)
    r = client.post("/api/songs", files={"file": ("notes.txt", b"hello", "text/plain")})
    assert r.status_code == 400 and "neither an audio file nor a MIDI file" in r.json()["detail"]
    r = client.post("/api/songs", files={"file": ("fake.wav", b"RIFF....not audio" * 10, "audio/wav")})
    assert r.status_code == 400 and "fake.wav" in r.json()["detail"]
    r = client.post("/api/songs", files={"file": ("fake.mid", b"MThd garbage", "audio/midi")})
    assert r.status_code == 400 and "fake.mid" in r.json()["detail"]
    big = client.post("/api/songs", files={"file": ("big.ogg", b"\0" * 2_500_000, "audio/ogg")})
    assert big.status_code == 413 and "larger than 2 MB" in big.json()["detail"]
    assert client.get("/api/songs").status_code == 200
    assert _saved_ids(client) == before and first["session_id"] in before
    assert len(client.get("/api/songs").json()) == 5


@pytest.mark.usefixtures("db_url")
def test_unknown_song_and_session_ids(client):
    r = client.get("/api/songs/no-such-song")
    assert r.status_code == 404 and "no-such-song" in r.json()["detail"]
    r = client.post("/api/sessions", json={"song_id": "../etc", "players": [{"name": "A"}]})
    assert r.status_code == 404
    assert client.get("/api/songs/nope/audio").status_code == 404
    assert client.get("/api/history/999").status_code == 404
    r = client.post("/api/sessions", json={"song_id": "slow-funk", "players": []})
    assert r.status_code == 422
    with client.websocket_connect("/ws/sessions/not-a-session") as ws:
        msg = ws.receive_json()
        assert msg["type"] == "error" and "no live session" in msg["detail"]


def test_bad_websocket_messages_keep_the_session_going(client):
    live = _start(client)
    note = live["plan"]["notes"][0]
    with client.websocket_connect(live["websocket"]) as ws:
        for bad, expect in (("not json", "not JSON"), ("[1]", "JSON object"),
                            (json.dumps({"type": "hit", "seq": 2, "voice": "cowbell2", "time_s": 1}), "unknown drum voice"),
                            (json.dumps({"type": "hit", "seq": 3, "player": 3, "voice": "kick", "time_s": 1}), "player"),
                            (json.dumps({"type": "hit", "seq": 4, "player": 0, "voice": "kick"}), "time_s"),
                            (json.dumps({"type": "dance"}), "'type' among")):
            ws.send_text(bad)
            msg = ws.receive_json()
            assert msg["type"] == "error" and expect in msg["detail"]
        ws.send_json({"type": "hit", "seq": 1, "player": 0, "time_s": note["time_s"] + 0.01, "voice": note["voice"]})
        assert ws.receive_json()["offset_ms"] == pytest.approx(10, abs=0.01)


def test_html_in_a_name_stays_text(client):
    live = _start(client, names=("<script>alert(1)</script>",))
    assert live["players"][0]["name"] == "<script>alert(1)</script>"
    _, result = _play(client, live, offsets_ms=(0,), n_notes=10)
    sid = result["session_id"]
    assert client.get(f"/api/history/{sid}").json()["players"][0]["name"] == "<script>alert(1)</script>"
    report = client.get(f"/api/history/{sid}/report.html").text
    assert "<script>alert(1)</script>" not in report and "&lt;script&gt;" in report
    assert client.get(f"/api/history/{sid}/card.png").status_code == 200


def test_finish_without_hits_saves_nothing(client):
    live = _start(client)
    before = _saved_ids(client)
    with client.websocket_connect(live["websocket"]) as ws:
        ws.send_json({"type": "finish"})
        msg = ws.receive_json()
    assert msg["type"] == "error" and "nobody played" in msg["detail"]
    assert _saved_ids(client) == before


@pytest.mark.slow
def test_midi_upload_uses_drums_as_chart_and_renders_the_rest(client, tmp_path):
    song_dir = builtin_dir() / "rock-shuffle"
    merged = mido.MidiFile(song_dir / "backing.mid")
    drums = mido.MidiFile(song_dir / "chart.mid")
    merged.tracks.append(drums.tracks[0])
    data = io.BytesIO()
    merged.save(file=data)
    r = client.post("/api/songs", files={"file": ("my song.mid", data.getvalue(), "audio/midi")})
    assert r.status_code == 201, r.text
    song = r.json()
    assert song["has_chart"] and not song["builtin"] and song["title"] == "my song"
    assert song["notes"] == len(read_take(song_dir / "chart.mid"))
    audio = client.get(f"/api/songs/{song['id']}/audio")
    samples, _ = sf.read(io.BytesIO(audio.content))
    assert np.abs(samples).max() > 0.05
    assert song["id"] in [s["id"] for s in client.get("/api/songs").json()]


@pytest.mark.slow
def test_audio_upload_is_analysed_and_scored_on_the_grid(client):
    data = (builtin_dir() / "slow-funk" / "backing.ogg").read_bytes()
    r = client.post("/api/songs", files={"file": ("funk.ogg", data, "audio/ogg")})
    assert r.status_code == 201, r.text
    song = r.json()
    assert not song["has_chart"] and song["tempo_bpm"] == pytest.approx(80, rel=0.03)
    live = _start(client, song=song["id"])
    beats = live["plan"]["beatmap"]["beats"]
    with client.websocket_connect(live["websocket"]) as ws:
        ws.send_json({"type": "hit", "seq": 0, "player": 0, "time_s": beats[4] - 0.012, "voice": "kick"})
        assert ws.receive_json()["offset_ms"] == pytest.approx(-12, abs=0.5)


def test_an_added_songs_beat_map_is_corrected_by_ear_and_kept(client, tmp_path):
    data = (builtin_dir() / "slow-funk" / "backing.ogg").read_bytes()
    song = client.post("/api/songs", files={"file": ("funk.ogg", data, "audio/ogg")}).json()
    assert song["beatmap_correctable"] and not song["beatmap_corrected"]
    url = f"/api/songs/{song['id']}/beatmap"

    def song_beatmap() -> dict:
        """The song's beat map as a session plays it, without the count-in bar."""
        plan = _start(client, song=song["id"])["plan"]
        return {key: [t - plan["lead_in_s"] for t in plan["beatmap"][key]] for key in ("beats", "downbeats")}

    before = song_beatmap()

    doubled = client.post(url, json={"tempo": "double"}).json()
    assert doubled["tempo_bpm"] == pytest.approx(2 * song["tempo_bpm"], rel=0.01)
    assert doubled["beatmap_corrected"]
    assert song_beatmap()["beats"][::2] == pytest.approx(before["beats"], abs=1e-5)

    client.post(url, json={"reset": True, "downbeat_shift": 1, "offset_ms": 10})
    after = song_beatmap()
    assert after["beats"] == pytest.approx([t + 0.010 for t in before["beats"]], abs=1e-5)
    first = int(np.argmin(np.abs(np.array(before["beats"]) - before["downbeats"][0])))
    assert after["downbeats"][0] == pytest.approx(before["beats"][first + 1] + 0.010, abs=1e-5)
    waltz = client.post(url, json={"meter": 3}).json()
    assert waltz["meter"] == 3

    # kept for the next start of the app
    again = TestClient(create_app(home=tmp_path, max_upload_bytes=2_000_000))
    assert again.get(f"/api/songs/{song['id']}").json()["meter"] == 3
    assert client.post(url, json={"reset": True}).json()["beatmap_corrected"] is False

    builtin = client.post("/api/songs/slow-funk/beatmap", json={"tempo": "double"})
    assert builtin.status_code == 400 and "exact beat map" in builtin.json()["detail"]
    assert client.post(url, json={"tempo": "triple"}).status_code == 422
    assert client.post(url, json={"offset_ms": 5000}).status_code == 422
    assert client.post(url, json={"meter": 1}).status_code == 422
