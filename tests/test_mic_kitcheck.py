"""The kit check with known answers: rendered kits (AVL Black Pearl) hit drum by drum when
asked give the input gain, the drums each network class stands for and the pairs that cannot
be told apart; the profile adapts the transcription to the kit; over HTTP it is stored per
player and microphone and a session's microphone player is transcribed with it."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fastapi.testclient import TestClient

from drumjam.analysis.kitprofile import KitProfile, KitTranscriber, check_kit
from drumjam.analysis.transcribe import DrumTranscriber
from drumjam.errors import InputError
from drumjam.io.render import render_events
from drumjam.model import Hit, Voice
from drumjam.session.mic import encode_frame
from drumjam.web.app import create_app

SR = 48000
PROMPT_S = 2.5
KIT = (Voice.KICK, Voice.SNARE, Voice.HIHAT_CLOSED, Voice.TOM_HIGH, Voice.TOM_FLOOR, Voice.RIDE)


def _check(voices, *, played=None, lead_s=0.0, peak_dbfs=None, seed=0):
    """A kit check played on Black Pearl: four strokes of each drum asked for (``played``:
    the drum actually hit instead), and the prompts (voice, start_s, end_s)."""
    rng = np.random.default_rng(seed)
    hits, prompts = [], []
    for i, v in enumerate(voices):
        start = lead_s + i * PROMPT_S
        prompts.append((v, start, start + PROMPT_S))
        hits += [Hit(start + 0.5 + 0.45 * k, (played or {}).get(v, v), int(rng.integers(70, 127)))
                 for k in range(4)]
    x, _ = render_events(hits, soundfont="black_pearl", sample_rate=SR, mono=True)
    if peak_dbfs is not None:
        x = x * 10 ** (peak_dbfs / 20) / np.max(np.abs(x))
    return x.astype(np.float32), prompts


def _transcribe(tr, x):
    out = []
    for i in range(0, x.size, 960):
        out += tr.process(x[i:i + 960])
    return out + tr.flush()


@pytest.fixture(scope="module")
def kit_profile() -> KitProfile:
    x, prompts = _check(KIT, peak_dbfs=-24.0)
    return check_kit(x, prompts, sample_rate=SR)


def test_kit_check_sets_the_gain_and_adapts_the_transcription(kit_profile) -> None:
    assert kit_profile.input_gain_db == pytest.approx(24.0, abs=0.01)  # -24 dBFS to 0
    assert not kit_profile.clipped and kit_profile.not_heard == ()
    assert kit_profile.strokes == {v.value: 4 for v in KIT}
    # the network takes this kit's high tom for a closed hi-hat: its class stands for both
    assert "tom_high" in kit_profile.classes["hihat_closed"]
    assert KitProfile.from_dict(kit_profile.to_dict()).to_dict() == kit_profile.to_dict()

    groove = [Hit(0.5 + 0.25 * k, Voice.TOM_HIGH if k % 2 else Voice.HIHAT_CLOSED, 90) for k in range(16)]
    x, _ = render_events(groove, soundfont="black_pearl", sample_rate=SR, mono=True)
    x = (x * 10 ** (-24 / 20) / np.max(np.abs(x))).astype(np.float32)
    toms = [h.time_s for h in groove if h.voice == Voice.TOM_HIGH]

    def heard_as_tom(hits):
        return sum(any(h.voice == Voice.TOM_HIGH and abs(h.time_s - t) < 0.03 for h in hits) for t in toms)

    assert heard_as_tom(_transcribe(DrumTranscriber(sample_rate=SR), x)) <= 1
    adapted = _transcribe(KitTranscriber(kit_profile, sample_rate=SR), x)
    assert heard_as_tom(adapted) == len(toms)
    hats = [h.time_s for h in groove if h.voice == Voice.HIHAT_CLOSED]
    assert all(any(h.voice == Voice.HIHAT_CLOSED and abs(h.time_s - t) < 0.03 for h in adapted) for t in hats)


def test_kit_check_says_which_drums_it_cannot_tell_apart(kit_profile) -> None:
    # asked for the high tom, the player hit the mid tom again: the two cannot be told apart
    x, prompts = _check((Voice.KICK, Voice.SNARE, Voice.TOM_HIGH, Voice.TOM_MID),
                        played={Voice.TOM_HIGH: Voice.TOM_MID})
    profile = check_kit(x, prompts, sample_rate=SR)
    assert ("tom_high", "tom_mid") in profile.confused
    assert "cannot tell the tom high and the tom mid apart" in " ".join(profile.messages())
    assert not any("tom_high" in pair for pair in kit_profile.confused)  # distinct toms are told apart

    clipping = np.clip(x * 4.0 / np.max(np.abs(x)), -1.0, 1.0)
    loud = check_kit(clipping, prompts, sample_rate=SR)
    assert loud.clipped and loud.input_gain_db == 0.0 and "turn its input gain down" in loud.messages()[0]
    # a noisy microphone (noise 26 dB under the loudest hit) is raised only to -12 dBFS
    noisy = x / np.max(np.abs(x)) * 10 ** (-24 / 20)
    noisy = noisy + np.random.default_rng(1).standard_normal(x.size) * 10 ** (-50 / 20)
    assert check_kit(noisy, prompts, sample_rate=SR).input_gain_db == pytest.approx(12.0, abs=0.5)
    with pytest.raises(InputError, match="heard nothing"):
        check_kit(np.zeros_like(x), prompts, sample_rate=SR)
    with pytest.raises(InputError, match="ask for each drum once"):
        check_kit(x, prompts + [prompts[0]], sample_rate=SR)
    with pytest.raises(InputError, match="too few hits"):
        check_kit(x[:int(3 * SR)], prompts, sample_rate=SR)


@pytest.fixture()
def client(tmp_path):
    app = create_app(home=tmp_path, db_url=os.environ.get("DRUMJAM_DB_URL"), max_upload_bytes=4_000_000)
    with TestClient(app) as c:
        yield c


def test_kit_check_stored_and_used_by_the_players_microphone(client) -> None:
    mic, zero = "Fake Default Audio Input", 4 * SR
    # this player's hi-hat sounds like a ride cymbal to the network
    x, _ = _check((Voice.KICK, Voice.SNARE, Voice.HIHAT_CLOSED), played={Voice.HIHAT_CLOSED: Voice.RIDE},
                  lead_s=0.5)
    params = {"sample_rate": SR, "prompts_frame": zero + SR // 2, "prompt_s": PROMPT_S,
              "voices": ["kick", "snare", "hihat_closed"], "name": "Ann", "device": mic}
    r = client.post("/api/kitcheck", params=params, content=encode_frame(x, player=0, seq=0, first_frame=zero),
                    headers={"content-type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    checked = r.json()
    assert checked["stored"] and checked["classes"]["ride"] == ["hihat_closed"]
    assert "templates" not in checked
    stored = client.get("/api/kitcheck", params={"name": "Ann", "device": mic}).json()
    assert stored["checked"] and stored["classes"] == checked["classes"]
    assert not client.get("/api/kitcheck", params={"name": "Ann", "device": "Webcam"}).json()["checked"]
    late = client.post("/api/kitcheck", params={**params, "prompts_frame": zero - 1},
                       content=encode_frame(x, player=0, seq=0, first_frame=zero),
                       headers={"content-type": "application/octet-stream"})
    assert late.status_code == 400 and "began after the first drum" in late.json()["detail"]

    live = client.post("/api/sessions", json={"song_id": "slow-funk", "players": [
        {"name": "Ann", "input": "mic", "device": mic, "latency_ms": 0.0}]}).json()
    plan = live["plan"]
    notes = [n for n in plan["notes"] if plan["lead_in_s"] <= n["time_s"] < plan["lead_in_s"] + 3.0]
    assert {n["voice"] for n in notes} >= {"hihat_closed", "kick"}
    played = [Hit(n["time_s"], "ride" if n["voice"] == "hihat_closed" else n["voice"], max(n["velocity"], 70))
              for n in notes]
    drums, _ = render_events(played, soundfont="black_pearl", sample_rate=SR, mono=True)
    with client.websocket_connect(live["websocket"]) as ws:
        ws.send_json({"type": "mic_start", "sample_rate": SR, "timeline_zero_frame": zero,
                      "cancel_bleed": False, "device": mic})
        for seq, i in enumerate(range(0, drums.size, SR // 50)):
            ws.send_bytes(encode_frame(drums[i:i + SR // 50], player=0, seq=seq, first_frame=zero + i))
        ws.send_json({"type": "mic_end"})
        replies = []
        while not (replies and replies[-1]["type"] == "mic_status" and replies[-1]["status"] == "ended"):
            replies.append(ws.receive_json())
    judged = [m for m in replies if m["type"] == "judgment"]
    hats = [m for m in judged if m["voice"] == "hihat_closed" and m["offset_ms"] is not None]
    assert not [m for m in judged if m["voice"] == "ride"]
    assert len(hats) >= 0.7 * sum(n["voice"] == "hihat_closed" for n in notes)
