"""The lessons API of the jam app: recorded and uploaded takes, notation, attempts, progress."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from lesson_reference import GROOVES

from drumjam.io.musicxml import read_musicxml
from drumjam.web.app import create_app

SOUL = GROOVES / "drummer1/eval_session/3_soul-groove3_86_beat_4-4.mid"


@pytest.fixture()
def client(tmp_path):
    return TestClient(create_app(home=tmp_path))


def rock_bars(tempo_bpm: float, bars: int, late_kick_ms: float = 0.0) -> list[dict]:
    """Hits of a rock beat: hi-hat eighths, kick on 1 and 3, snare on 2 and 4."""
    beat_s = 60.0 / tempo_bpm
    hits = []
    for bar in range(bars):
        t0 = bar * 4 * beat_s
        hits += [
            {"time_s": t0 + k * beat_s / 2, "voice": "hihat_closed", "velocity": 90}
            for k in range(8)
        ]
        hits += [{"time_s": t0 + k * beat_s + late_kick_ms / 1000, "voice": "kick"} for k in (0, 2)]
        hits += [{"time_s": t0 + k * beat_s, "voice": "snare", "velocity": 110} for k in (1, 3)]
    return hits


def test_recorded_take_becomes_a_lesson_a_student_practises(client):
    made = client.post(
        "/api/lessons", json={"name": "rock", "tempo_bpm": 100, "hits": rock_bars(100, 4)}
    )
    assert made.status_code == 200, made.text
    assert made.json()["pattern"]["notes_per_voice"] == {"hihat_closed": 8, "kick": 2, "snare": 2}
    assert [row["name"] for row in client.get("/api/lessons").json()] == ["rock"]
    svg = client.get("/api/lessons/rock/notation.svg")
    assert svg.status_code == 200, svg.text
    assert (
        svg.headers["content-type"].startswith("image/svg+xml")
        and svg.text.count('class="notehead') == 12
    )

    first = client.get("/api/lessons/rock/progress", params={"student": "ada"}).json()
    assert first["tempo_bpm"] == 60.0 and first["attempts"] == 0
    attempt = client.post(
        "/api/lessons/rock/attempts",
        json={"student": "ada", "hits": rock_bars(60, 2, late_kick_ms=22)},
    )
    body = attempt.json()
    assert body["passed"] is True and body["next_tempo_bpm"] == 65.0
    assert "kick on 1 is 22 ms late" in body["feedback"]
    second = client.post(
        "/api/lessons/rock/attempts",
        json={"student": "ada", "tempo_bpm": 65, "hits": rock_bars(65, 2)[::2]},
    )
    assert second.json()["passed"] is False
    progress = client.get("/api/lessons/rock/progress", params={"student": "ada"}).json()
    assert [h["passed"] for h in progress["history"]] == [True, False]
    assert progress["tempo_bpm"] == 65.0 and progress["failures_in_row"] == 1
    # asked for two loops, played one: the other loop is missed
    half = client.post(
        "/api/lessons/rock/attempts",
        json={"student": "cy", "loops": 2, "hits": rock_bars(60, 1)},
    ).json()
    assert half["loops"] == 2 and half["played_pct"] == 50.0 and not half["passed"]
    by_hits = client.post(
        "/api/lessons/rock/attempts", json={"student": "cy", "hits": rock_bars(60, 1)}
    ).json()
    assert by_hits["loops"] == 1 and by_hits["passed"]
    (ada, cy) = client.get("/api/lessons/rock/students").json()
    assert ada["student"] == "ada" and ada["attempts"] == 2 and ada["passes"] == 1


def _shifted(hits: list[dict], shift_ms: float) -> list[dict]:
    return [dict(h, time_s=h["time_s"] + shift_ms / 1000) for h in hits]


def test_a_hit_before_the_first_beat_is_early_not_on_time(client):
    client.post("/api/lessons", json={"name": "rock", "tempo_bpm": 100, "hits": rock_bars(100, 4)})
    early = client.post(
        "/api/lessons/rock/attempts",
        json={"student": "ada", "loops": 2, "hits": _shifted(rock_bars(60, 2), -40)},
    ).json()
    assert early["mean_offset_ms"] == pytest.approx(-40.0, abs=0.01)
    assert "hi-hat on 1 is 40 ms early" in early["feedback"]  # the very first note too
    assert early["played_pct"] == 100.0


def test_attempts_remove_the_latency_calibrated_in_the_jam_app(client):
    client.post("/api/lessons", json={"name": "rock", "tempo_bpm": 100, "hits": rock_bars(100, 4)})
    clicks = [1.0 + 0.5 * k for k in range(8)]
    calibrated = client.post(
        "/api/calibration", json={"name": "ada", "clicks_s": clicks, "taps_s": [c + 0.04 for c in clicks]}
    ).json()
    assert calibrated["latency_ms"] == pytest.approx(40.0, abs=0.5)
    late = _shifted(rock_bars(60, 2), calibrated["latency_ms"])
    stored = client.post("/api/lessons/rock/attempts", json={"student": "ada", "tempo_bpm": 60, "loops": 2, "hits": late}).json()
    assert stored["latency_ms"] == pytest.approx(calibrated["latency_ms"], abs=1e-6)
    assert stored["mean_offset_ms"] == pytest.approx(0.0, abs=0.01) and stored["passed"]
    # the page may send another latency (typed by the student): that one is removed instead
    typed = client.post(
        "/api/lessons/rock/attempts", json={"student": "ada", "tempo_bpm": 60, "loops": 2, "hits": late, "latency_ms": 0}
    ).json()
    assert typed["latency_ms"] == 0 and typed["mean_offset_ms"] == pytest.approx(calibrated["latency_ms"], abs=0.01)
    # a student who never calibrated: nothing removed
    other = client.post("/api/lessons/rock/attempts", json={"student": "ben", "tempo_bpm": 60, "loops": 2, "hits": late}).json()
    assert other["latency_ms"] == 0.0
    absurd = client.post(
        "/api/lessons/rock/attempts", json={"student": "ada", "hits": late, "latency_ms": 5000}
    )
    assert absurd.status_code == 422


def test_rename_and_delete_through_the_api(client):
    client.post("/api/lessons", json={"name": "rock", "tempo_bpm": 100, "hits": rock_bars(100, 4)})
    client.post("/api/lessons/rock/attempts", json={"student": "ada", "hits": rock_bars(60, 2)})
    renamed = client.patch("/api/lessons/rock", json={"name": "rock basics"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "rock basics"
    assert client.get("/api/lessons/rock basics/progress", params={"student": "ada"}).json()["attempts"] == 1
    client.post("/api/lessons", json={"name": "funk", "tempo_bpm": 100, "hits": rock_bars(100, 4)})
    taken = client.patch("/api/lessons/funk", json={"name": "rock basics"})
    assert taken.status_code == 400 and "exists already" in taken.json()["detail"]
    assert client.patch("/api/lessons/nothing", json={"name": "x"}).status_code == 404
    gone = client.delete("/api/lessons/rock basics")
    assert gone.json() == {"name": "rock basics", "attempts": 1, "students": 1}
    assert [row["name"] for row in client.get("/api/lessons").json()] == ["funk"]
    assert client.delete("/api/lessons/rock basics").status_code == 404


def test_uploaded_midi_take_with_chosen_bars(client, tmp_path):
    with SOUL.open("rb") as f:
        made = client.post(
            "/api/lessons/upload",
            files={"file": ("soul.mid", f, "audio/midi")},
            data={"name": "soul", "bars": "2-3", "with_feel": "true"},
        )
    assert made.status_code == 200, made.text
    assert made.json()["bars"] == 2 and made.json()["pattern"]["source_bars"] == [1, 2]
    assert made.json()["trainer"]["with_feel"] is True
    assert client.get("/api/lessons/soul").json()["trainer"]["with_feel"] is True
    xml = client.get("/api/lessons/soul/notation.musicxml")
    assert "attachment" in xml.headers["content-disposition"]
    (tmp_path / "soul.musicxml").write_bytes(xml.content)
    assert len(read_musicxml(tmp_path / "soul.musicxml")) == len(made.json()["pattern"]["notes"])


def test_mistakes_get_clear_answers(client):
    assert client.get("/api/lessons/none").status_code == 404
    assert client.get("/api/lessons/none/progress", params={"student": "x"}).status_code == 404
    bad_voice = client.post(
        "/api/lessons",
        json={"name": "x", "tempo_bpm": 100, "hits": [{"time_s": 0, "voice": "cowbell2"}]},
    )
    assert bad_voice.status_code == 422 and "unknown drum voice" in str(bad_voice.json()["detail"])
    empty = client.post("/api/lessons", json={"name": "x", "tempo_bpm": 100, "hits": []})
    assert empty.status_code == 400 and "no hits" in empty.json()["detail"]
    bad_trainer = client.post(
        "/api/lessons",
        json={
            "name": "z",
            "tempo_bpm": 100,
            "hits": rock_bars(100, 2),
            "trainer": {"start_fraction": 3},
        },
    )
    assert bad_trainer.status_code == 400 and "start_fraction" in bad_trainer.json()["detail"]
    client.post("/api/lessons", json={"name": "x", "tempo_bpm": 100, "hits": rock_bars(100, 2)})
    again = client.post(
        "/api/lessons", json={"name": "x", "tempo_bpm": 100, "hits": rock_bars(100, 2)}
    )
    assert again.status_code == 400 and "exists already" in again.json()["detail"]
    no_hits = client.post("/api/lessons/x/attempts", json={"student": "s", "hits": []})
    assert no_hits.status_code == 400
    with SOUL.open("rb") as f:
        wrong_bars = client.post(
            "/api/lessons/upload",
            files={"file": ("soul.mid", f, "audio/midi")},
            data={"name": "y", "bars": "40-41"},
        )
    assert wrong_bars.status_code == 400 and "outside the take" in wrong_bars.json()["detail"]


def test_take_from_a_saved_jam_session_becomes_a_lesson(client, tmp_path):
    from drumjam.io.midi import read_take
    from drumjam.store.sessions import save_session

    take = read_take(SOUL)
    hits = [{"time_s": h.time_s, "voice": h.voice.value, "velocity": h.velocity} for h in take.hits]
    url = client.app.state.db_url
    session_id = save_session(
        song_id="soul",
        song_title="Soul groove",
        players=[{"name": "Ines", "latency_ms": 0.0}],
        practice={},
        beatmap=take.beatmap.to_dict(),
        chart={"grid": 16},
        takes=[hits],
        results={},
        url=url,
    )
    made = client.post(
        "/api/lessons/from-session",
        json={"name": "from jam", "session_id": session_id, "player": 0},
    )
    assert made.status_code == 200, made.text
    assert made.json()["source"] == f"session {session_id}: Ines on Soul groove"
    from_file = client.post(
        "/api/lessons/upload",
        files={"file": ("soul.mid", SOUL.read_bytes())},
        data={"name": "from file"},
    )
    assert made.json()["pattern"]["notes"] == from_file.json()["pattern"]["notes"]
    wrong_player = client.post(
        "/api/lessons/from-session", json={"name": "x", "session_id": session_id, "player": 1}
    )
    assert wrong_player.status_code == 400 and "player(s) 0-0" in wrong_player.json()["detail"]
    missing = client.post("/api/lessons/from-session", json={"name": "x", "session_id": 999})
    assert missing.status_code == 404
