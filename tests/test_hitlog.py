"""Hits written through a process of their own: every batch stored, none lost when that
process dies or the server goes away."""

from __future__ import annotations

import pickle
import subprocess
import sys

from sqlalchemy import text

from drumjam.model import Hit, Voice
from drumjam.session.recording import HitWriter
from drumjam.store.db import get_engine
from drumjam.store.hitlog import HitLog, HitLogError, StoredHit
from drumjam.store.sessions import open_session
from drumjam.web.state import History


def stored(url: str, session_id: int) -> list[tuple]:
    with get_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT session_id, player, time_s, voice, velocity, hihat_openness FROM take_hits "
            "WHERE session_id = :s ORDER BY id"), {"s": session_id})]


def new_session(url: str) -> int:
    return open_session(song_id="s", song_title="S", players=[{"name": "A", "latency_ms": 0.0}],
                        practice={}, beatmap={}, chart={}, url=url)


def rows(session_id: int, n: int, first: int = 0) -> list[StoredHit]:
    return [(session_id, i % 2, 0.25 * i, "snare" if i % 3 else "hihat_closed", 1 + i % 127,
             None if i % 3 else 0.5) for i in range(first, first + n)]


def test_every_hit_is_written_by_the_child_and_a_dead_child_is_replaced(db_url):
    sid = new_session(db_url)
    log = HitLog(db_url)
    writer = HitWriter(log)
    try:
        for row in rows(sid, 300):
            writer.append(row)
        assert writer.flush()
        first_child = log._child
        assert first_child is not None and first_child.pid != 0
        first_child.kill()  # the writing process dies between batches
        first_child.wait()
        for row in rows(sid, 200, first=300):
            writer.append(row)
        assert writer.flush()
        assert log._child is not None and log._child.pid != first_child.pid
    finally:
        writer.close()
        log.close()
    assert stored(db_url, sid) == [(s, p, t, v, vel, o) for s, p, t, v, vel, o in rows(sid, 500)]
    assert sum(n for n, _, _ in log.timings) == 500


def test_a_batch_the_database_refuses_is_reported_and_nothing_half_written(db_url):
    sid = new_session(db_url)
    log = HitLog(db_url)
    try:
        bad = rows(sid, 3) + [(sid + 1000, 0, 1.0, "snare", 90, None)]  # no such session
        try:
            log(bad)
        except HitLogError as err:
            assert "could not write the batch" in str(err)
        else:
            raise AssertionError("a row of an unknown session was accepted")
        assert stored(db_url, sid) == []  # one transaction: none of the batch
        log(rows(sid, 3))  # the same child goes on
    finally:
        log.close()
    assert len(stored(db_url, sid)) == 3


def test_batches_handed_over_are_written_after_the_server_is_gone(tmp_path):
    """The child exits at the end of its pipe: what the server handed over before it died is
    written, a batch cut off in the middle is not half written."""
    url = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    sid = new_session(url)
    child = subprocess.Popen([sys.executable, "-m", "drumjam.store.hitlog", url],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    whole = [pickle.dumps(rows(sid, 50, first=50 * k)) for k in range(3)]
    cut = pickle.dumps(rows(sid, 50, first=150))
    child.stdin.write(b"".join(len(p).to_bytes(4, "little") + p for p in whole)
                      + len(cut).to_bytes(4, "little") + cut[:10])
    child.stdin.close()  # the server died: no answer is read
    assert child.wait(timeout=60) == 0
    assert [r[2] for r in stored(url, sid)] == [0.25 * i for i in range(150)]


def test_the_writing_process_is_started_with_a_run_before_its_first_hit(db_url):
    """A live session's recorder starts the writing process at once (its imports then run
    during the count-in); the first batch is written by that same process."""
    history = History(db_url)
    try:
        assert history.log._child is None
        sid = new_session(db_url)
        record = history.recorder(sid)
        started = history.log._child
        assert started is not None and started.poll() is None
        record(0, Hit(1.0, Voice.SNARE, 90))
        assert history.writer.flush()
        assert history.log._child is started
    finally:
        history.close()
    assert stored(db_url, sid) == [(sid, 0, 1.0, "snare", 90, None)]
