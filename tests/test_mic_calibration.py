"""Calibration by ear stored per player and microphone: the store on SQLite and PostgreSQL,
and over HTTP a simulated round trip measured, stored, read back, given to a session's
microphone player and removed from the hits their microphone hears."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import soundfile as sf
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from drumjam.errors import InputError
from drumjam.io.render import render_events
from drumjam.model import Hit
from drumjam.session.mic import encode_frame
from drumjam.store.db import alembic_config, get_engine
from drumjam.store.inputs import (
    get_input_calibration,
    get_kit_profile,
    save_input_calibration,
    save_kit_profile,
    stored_latency_ms,
)
from drumjam.store.sessions import get_calibration, save_calibration
from drumjam.web.app import create_app
from mic_room import SPEED_OF_SOUND_M_S, convolve, delayed, room_ir, render_onset_delay_s

SR = 48000
ROUND_TRIP_S = 0.0587
DISTANCE_M = 1.2
MIC = "USB Audio Mic (0d8c:0014)"
BLOCK = SR // 50
ZERO_FRAME = 3 * SR


def test_latency_and_kit_profile_stored_per_player_and_device(db_url) -> None:
    assert stored_latency_ms("Ann", input_kind="mic", device=MIC, url=db_url) is None
    save_calibration("Ann", 31.0, 16, url=db_url)  # her tap-along latency (keys, MIDI)
    row = save_input_calibration("Ann", input_kind="mic", device=MIC, latency_ms=61.2,
                                 peak_ratio=40.0, url=db_url)
    assert (row["latency_ms"], row["device"]) == (61.2, MIC)
    save_input_calibration("Ann", input_kind="mic", device=MIC, latency_ms=62.5, peak_ratio=35.0,
                           url=db_url)  # measured again: the latest wins
    save_input_calibration("Ann", input_kind="mic", device="Built-in", latency_ms=95.0,
                           peak_ratio=20.0, url=db_url)
    assert get_input_calibration("Ann", input_kind="mic", device=MIC, url=db_url)["latency_ms"] == 62.5
    assert stored_latency_ms("Ann", input_kind="mic", device="Built-in", url=db_url) == 95.0
    # another device, or keys, fall back to the tap-along latency; another player has none
    assert stored_latency_ms("Ann", input_kind="mic", device="Webcam", url=db_url) == 31.0
    assert stored_latency_ms("Ann", input_kind="keys", url=db_url) == 31.0
    assert stored_latency_ms("Bo", input_kind="mic", device=MIC, url=db_url) is None
    with pytest.raises(InputError, match="input kind 'drum'"):
        get_input_calibration("Ann", input_kind="drum", device=MIC, url=db_url)

    profile = {"input_gain_db": 6.0, "voices": ["kick", "snare"], "confused": []}
    save_kit_profile("Ann", device=MIC, profile=profile, url=db_url)
    save_kit_profile("Ann", device=MIC, profile={**profile, "input_gain_db": 3.0}, url=db_url)
    assert get_kit_profile("Ann", device=MIC, url=db_url)["input_gain_db"] == 3.0
    assert get_kit_profile("Ann", device="Built-in", url=db_url) is None


def test_revision_0005_adds_and_removes_only_its_tables(db_url) -> None:
    engine = get_engine(db_url)  # a new database at the head revision
    save_calibration("Ann", 31.0, 16, url=db_url)
    save_input_calibration("Ann", input_kind="mic", device=MIC, latency_ms=61.2, peak_ratio=40.0, url=db_url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    assert not {"input_calibrations", "kit_profiles"} & set(inspect(engine).get_table_names())
    assert get_calibration("Ann", url=db_url) == 31.0
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert stored_latency_ms("Ann", input_kind="mic", device=MIC, url=db_url) == 31.0


@pytest.fixture()
def client(tmp_path):
    app = create_app(home=tmp_path, db_url=os.environ.get("DRUMJAM_DB_URL"), max_upload_bytes=2_000_000)
    with TestClient(app) as c:
        yield c


def _heard_clicks(client, clicks_frame: int) -> bytes:
    wav = client.get("/api/calibration/ear/clicks.wav", params={"sample_rate": SR})
    clicks, _ = sf.read(io.BytesIO(wav.content), dtype="float32")
    ir = room_ir(sample_rate=SR, distance_m=DISTANCE_M, rt60_s=0.3, seed=4)
    heard = delayed(convolve(clicks, ir, clicks.size + SR), 0.1 + ROUND_TRIP_S, SR)
    return encode_frame(heard, player=0, seq=0, first_frame=clicks_frame - SR // 10)


def test_round_trip_by_ear_stored_and_removed_from_microphone_hits(client) -> None:
    truth_ms = 1000 * (ROUND_TRIP_S + DISTANCE_M / SPEED_OF_SOUND_M_S)
    clicks_frame = 7 * SR
    r = client.post("/api/calibration/ear", params={
        "sample_rate": SR, "clicks_frame": clicks_frame, "name": " Ann ", "device": MIC},
        content=_heard_clicks(client, clicks_frame), headers={"content-type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    measured = r.json()
    assert measured["stored"] and measured["name"] == "Ann"
    assert measured["latency_ms"] == pytest.approx(truth_ms, abs=2.0)

    stored = client.get("/api/calibration/ear/latency", params={"name": "Ann", "device": MIC}).json()
    assert stored["latency_ms"] == pytest.approx(measured["latency_ms"], abs=0.01)
    assert client.get("/api/calibration/ear/latency", params={"name": "Ann", "device": "Webcam"}).json()["latency_ms"] is None

    # a session's microphone player gets the round trip of that microphone; at the keys, not
    body = {"song_id": "slow-funk", "players": [{"name": "Ann", "input": "mic", "device": MIC}]}
    live = client.post("/api/sessions", json=body).json()
    assert live["players"][0]["latency_ms"] == pytest.approx(stored["latency_ms"], abs=0.01)
    keys = client.post("/api/sessions", json={"song_id": "slow-funk", "players": [{"name": "Ann"}]})
    assert keys.json()["players"][0]["latency_ms"] == 0.0

    # she plays the first notes exactly on time: her microphone hears them a round trip late
    plan = live["plan"]
    notes = [n for n in plan["notes"] if plan["lead_in_s"] <= n["time_s"] < plan["lead_in_s"] + 3.0]
    drums, _ = render_events([Hit(n["time_s"], n["voice"], max(n["velocity"], 70)) for n in notes],
                             soundfont="black_pearl", sample_rate=SR, mono=True)
    ir = room_ir(sample_rate=SR, distance_m=0.5, rt60_s=0.2, seed=5)
    mic = delayed(convolve(drums, ir), ROUND_TRIP_S + (DISTANCE_M - 0.5) / SPEED_OF_SOUND_M_S, SR)
    with client.websocket_connect(live["websocket"]) as ws:
        ws.send_json({"type": "mic_start", "sample_rate": SR, "timeline_zero_frame": ZERO_FRAME,
                      "cancel_bleed": False, "device": MIC})
        for seq, i in enumerate(range(0, mic.size, BLOCK)):
            ws.send_bytes(encode_frame(mic[i:i + BLOCK], player=0, seq=seq, first_frame=ZERO_FRAME + i))
        ws.send_json({"type": "mic_end"})
        replies = []
        while not (replies and replies[-1]["type"] == "mic_status" and replies[-1]["status"] == "ended"):
            replies.append(ws.receive_json())
    offsets = [m["offset_ms"] for m in replies if m["type"] == "judgment" and m["offset_ms"] is not None]
    assert len(offsets) >= 0.7 * len(notes)
    # on time up to the few ms the rendered strokes take to sound
    onset_ms = 1000 * render_onset_delay_s("black_pearl", sample_rate=SR)
    assert np.median(offsets) == pytest.approx(onset_ms, abs=3.0)
