"""Recordings in the jam app: a lesson made from and practised with uploaded recordings, and
an added audio song's own drum part (transcribed from the mix) offered as its chart."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from drum_mix import song_with_drums
from drumjam.io.midi import read_chart, read_take
from drumjam.io.render import render_events
from drumjam.model import Hit, Take
from drumjam.scoring import score_take
from drumjam.web.app import create_app

SONG = "fast-rock"
GROOVE = "drummer1/eval_session/10_soul-groove10_102_beat_4-4.mid"
#: Share of the chart's notes the drum part transcribed from the mix must match (drums inside
#: music are harder to hear than a drum recording).
MATCHED_SHARE = 0.65  # reached: 0.70 of the fast-rock chart from its full mix


@pytest.fixture()
def client(tmp_path: Path):
    with TestClient(create_app(home=tmp_path, max_upload_bytes=20_000_000)) as c:
        yield c


def _wav_bytes(samples: np.ndarray, sr: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture(scope="module")
def song_mix() -> tuple[bytes, object]:
    """A built-in song's drum chart rendered (AVL Black Pearl) and mixed into its backing."""
    return song_with_drums(SONG)


def test_an_added_audio_song_offers_its_drum_part(client: TestClient, song_mix) -> None:
    data, chart = song_mix
    added = client.post("/api/songs", files={"file": ("rock with drums.wav", data, "audio/wav")})
    assert added.status_code == 201, added.text
    song = added.json()
    assert song["drum_part"] in ("pending", "ready") and not song["has_chart"]
    client.app.state.jam.library.wait_for_drum_parts()
    song = client.get(f"/api/songs/{song['id']}").json()
    assert song["drum_part"] == "ready" and song["drum_part_progress"] is None

    part = client.get(f"/api/songs/{song['id']}/drum-part").json()
    assert song["drum_part_notes"] == len(part["notes"]) > 0
    assert part["beatmap"]["beats"] and {"time_s", "voice", "velocity"} <= set(part["notes"][0])
    # the drum part is what the song's drummer plays
    heard = Take(tuple(Hit(n["time_s"], n["voice"], n["velocity"]) for n in part["notes"]))
    scored = score_take(heard, chart)
    assert scored.overall.matched >= MATCHED_SHARE * len(chart)
    assert abs(scored.overall.mean_offset_ms) <= 5.0

    midi = client.get(f"/api/songs/{song['id']}/drum-part.mid")
    assert midi.status_code == 200 and midi.headers["content-type"] == "audio/midi"
    assert "drum-part.mid" in midi.headers["content-disposition"]
    saved = Path(client.app.state.home) / "part.mid"
    saved.write_bytes(midi.content)
    assert len(read_chart(saved)) == len(part["notes"])

    # the player chooses: the grid (no notes) or the drum part (its notes in the lanes)
    body = {"song_id": song["id"], "players": [{"name": "Ann", "latency_ms": 0}]}
    grid = client.post("/api/sessions", json=body).json()
    with_part = client.post("/api/sessions", json={**body, "drum_part": True}).json()
    assert grid["plan"]["notes"] == []
    lead_in_s = with_part["plan"]["lead_in_s"]
    assert [round(n["time_s"] - lead_in_s, 4) for n in with_part["plan"]["notes"]] == \
        pytest.approx([n["time_s"] for n in part["notes"]], abs=1e-4)


def test_songs_without_a_drum_part_say_so(client: TestClient) -> None:
    body = {"song_id": "slow-funk", "players": [{"name": "Ann", "latency_ms": 0}], "drum_part": True}
    r = client.post("/api/sessions", json=body)
    assert r.status_code == 400 and "play it on the grid" in r.json()["detail"]
    assert client.get("/api/songs/slow-funk").json()["drum_part"] is None
    assert client.get("/api/songs/slow-funk/drum-part.mid").status_code == 400


@pytest.fixture(scope="module")
def recorded(groove_midi: Path) -> tuple[bytes, Path]:
    """A real teacher's groove (102 BPM) as MIDI and rendered to a WAV recording."""
    midi = groove_midi / GROOVE
    samples, sr = render_events(read_take(midi), soundfont="black_pearl", mono=True)
    return _wav_bytes(samples, sr), midi


def test_lessons_from_and_attempts_with_recordings(client: TestClient, recorded) -> None:
    wav, midi = recorded
    from_midi = client.post("/api/lessons/upload", files={"file": ("soul.mid", midi.read_bytes())},
                            data={"name": "soul midi"})
    from_audio = client.post("/api/lessons/upload", files={"file": ("soul.wav", wav)},
                             data={"name": "soul audio"})
    assert from_audio.status_code == 200, from_audio.text
    a, m = from_audio.json()["pattern"], from_midi.json()["pattern"]
    assert a["grid"] == m["grid"] and a["bars"] == m["bars"]
    assert a["tempo_bpm"] == pytest.approx(m["tempo_bpm"], rel=0.02)
    attempt = client.post("/api/lessons/soul%20midi/attempts/upload",
                          files={"file": ("attempt.wav", wav)},
                          data={"student": "Sam", "tempo_bpm": str(m["tempo_bpm"])})
    assert attempt.status_code == 200, attempt.text
    assert attempt.json()["played_pct"] >= 80.0  # reached: 85.5 % of a take played on the notes
    bad = client.post("/api/lessons/soul%20midi/attempts/upload",
                      files={"file": ("attempt.txt", b"not a take")}, data={"student": "Sam"})
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("attempt.txt: is neither a MIDI file nor audio")
