"""The history's listing reads only what it lists.

A listing page used to load every listed session whole (its beat map, chart, takes and scored
hits) only to show names and the summary: 30 two-player sessions of 20,000 hits each took 5 s
and 1.2 GB, and a page may hold 1,000 sessions.
"""

from __future__ import annotations

import tracemalloc

from drumjam.store.sessions import get_session, list_sessions, save_session

SUMMARIES = ["Ann & Bob sat on top of each other; 78% within 20 ms.",
             'Zoë "鼓手" <script>alert(1)</script> 🥁 — early by 5 ms',
             ""]


def _save(url: str, summary: str, hits: int) -> int:
    take = [{"time_s": 0.1 * i, "voice": "kick", "velocity": 90, "hihat_openness": None}
            for i in range(hits)]
    scored = [{"hit_index": i, "time_s": 0.1 * i, "voice": "kick", "velocity": 90,
               "target_index": i, "target_time_s": 0.1 * i, "offset_ms": 1.0,
               "judgment": "perfect"} for i in range(hits)]
    results = {"players": [{"name": n, "score": {"hits": scored}} for n in ("Ann", "Bob")],
               "summary": summary, "duet": None}
    return save_session(song_id="song-1", song_title="Slow funk", practice={"speed": 0.8},
                        players=[{"name": "Ann", "latency_ms": 0.0}, {"name": "Bob", "latency_ms": 12.5}],
                        beatmap={"beats": [0.0, 0.5]}, chart={"notes": None, "grid": 16},
                        takes=[take, take], results=results, url=url)


def test_listing_shows_each_session_without_its_hits(db_url):
    ids = [_save(db_url, summary, hits=3) for summary in SUMMARIES]
    listed = list_sessions(10, 0, url=db_url)
    assert [s["id"] for s in listed] == ids[::-1]
    assert [s["summary"] for s in listed] == SUMMARIES[::-1]
    for entry in listed:
        whole = get_session(entry["id"], url=db_url)
        assert entry == {k: whole[k] for k in entry}  # the same fields as the whole session
        assert set(entry) == {"id", "song_id", "song_title", "players", "practice",
                              "created_at", "summary", "status"}
    assert listed[0]["players"][1] == {"name": "Bob", "latency_ms": 12.5}
    assert listed[0]["practice"] == {"speed": 0.8}
    assert [s["id"] for s in list_sessions(1, 1, url=db_url)] == [ids[1]]


def test_a_page_of_long_sessions_costs_their_names_not_their_hits(db_url):
    for k in range(4):
        _save(db_url, f"session {k}", hits=20_000)
    tracemalloc.start()
    try:
        listed = list_sessions(1000, 0, url=db_url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [s["summary"] for s in listed] == [f"session {k}" for k in (3, 2, 1, 0)]
    # the four sessions read whole peaked at 130-160 MB (SQLite, PostgreSQL); listed, at kBs
    assert peak < 5 * 2**20, f"listing 4 long sessions peaked at {peak / 2**20:.0f} MB"


def test_the_take_of_a_player_who_played_nothing_is_a_404_that_says_why(tmp_path):
    """A duet whose partner played no hits is kept as a solo; asking for the partner's take
    said only 'session 1 has players 0-0'."""
    from fastapi.testclient import TestClient

    from drumjam.io.midi import read_take
    from drumjam.model import BeatMap, Chart, Hit, Note
    from drumjam.session.live import LiveSession, Player
    from drumjam.web.app import create_app

    bm = BeatMap.constant(120, 8)
    chart = Chart((Note(1.0, "kick"), Note(2.0, "snare")), bm)
    app = create_app(home=tmp_path)
    with TestClient(app) as client:
        history = app.state.jam.history
        players = [Player("Ann"), Player("Bob")]
        sid = history.open(song_id="s", title="Song", players=players, beatmap=bm, chart=chart,
                           practice={})
        live = LiveSession(players, bm, chart, on_hit=history.recorder(sid))
        live.add_hit(0, Hit(1.0, "kick", 100))
        live.add_hit(0, Hit(2.01, "snare", 90))
        history.finish(sid, live.finish())
        saved = client.get(f"/api/history/{sid}").json()
        assert [p["name"] for p in saved["players"]] == ["Ann"]
        assert saved["summary"].endswith("Bob played no hits.")
        ok = client.get(f"/api/history/{sid}/take/0.mid")
        assert ok.status_code == 200
        (tmp_path / "ann.mid").write_bytes(ok.content)
        assert [(round(h.time_s, 3), h.velocity) for h in read_take(tmp_path / "ann.mid").hits] \
            == [(1.0, 100), (2.01, 90)]
        missing = client.get(f"/api/history/{sid}/take/1.mid")
        assert missing.status_code == 404
        assert missing.json()["detail"] == (
            f"session {sid} has no take 1: it kept 1 take (player 0); a player who played no "
            "hits has none (the summary names them)")
        for url in ("report.html", "card.png", "results.json"):
            assert client.get(f"/api/history/{sid}/{url}").status_code == 200, url
