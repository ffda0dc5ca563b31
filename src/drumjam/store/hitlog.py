"""Hits of sessions being played, written to the database by a process of their own.

The app hands each batch of hits (:class:`HitLog`, called by
:class:`drumjam.session.recording.HitWriter`'s thread) to a child process over a pipe and waits
for its answer; the child inserts the batch in one transaction and answers. The server's
process then only pickles a batch of plain tuples (about a microsecond a hit): the database
driver, its parameter binding and the commit run in another process, so they never hold the
GIL of the event loop answering the players (a writer thread in the server added several
milliseconds to the round trip's p99 at 50 sessions).

The child exits when its pipe closes: when the app stops or is killed, it still writes every
batch already handed over. A child that dies is started again, and the batch it did not
confirm is sent again.

    python -m drumjam.store.hitlog DB_URL     # the child (started by HitLog)
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from typing import BinaryIO

from drumjam.store.db import get_engine

#: One stored hit: (session id, player, time_s, voice, velocity, hi-hat openness or None).
StoredHit = tuple[int, int, float, str, int, float | None]
#: Columns of ``take_hits`` in the order of :data:`StoredHit`.
HIT_COLUMNS = ("session_id", "player", "time_s", "voice", "velocity", "hihat_openness")
#: Most hits in one INSERT statement (6 parameters each; SQLite takes 32,766).
HITS_PER_INSERT = 1000
#: Placeholder of a positional parameter by DB-API paramstyle.
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}
#: Length prefix of a batch on the pipe.
_LENGTH = struct.Struct("<I")
#: The child runs at this niceness: it yields the CPU to the server answering players.
CHILD_NICENESS = 5
#: Timings (hits, wall s, CPU s) of this many recent batches are kept.
TIMINGS_KEPT = 100_000


def insert_hits(rows: list[StoredHit], url: str | None = None) -> None:
    """Insert hits into ``take_hits`` in one transaction.

    The batch goes to the driver as multi-row INSERT statements of up to
    :data:`HITS_PER_INSERT` hits, not through the ORM nor row by row.
    """
    if not rows:
        return
    engine = get_engine(url)
    mark = _PLACEHOLDER.get(engine.dialect.paramstyle, "%s")
    row_marks = "(" + ", ".join([mark] * len(HIT_COLUMNS)) + ")"
    head = f"INSERT INTO take_hits ({', '.join(HIT_COLUMNS)}) VALUES "
    with engine.begin() as conn:
        for first in range(0, len(rows), HITS_PER_INSERT):
            chunk = rows[first:first + HITS_PER_INSERT]
            params = tuple(value for row in chunk for value in row)
            conn.exec_driver_sql(head + ", ".join([row_marks] * len(chunk)), params)


class HitLogError(RuntimeError):
    """The writing process failed a batch or went away (the batch is kept and sent again)."""


class HitLog:
    """Writes batches of hits through a child process (a callable sink for ``HitWriter``).

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the history (a file or server database: the child opens it too).

    Attributes
    ----------
    timings : collections.deque
        (hits, wall s, child CPU s) of recent batches, as the child measured its writes.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.timings: deque[tuple[int, float, float]] = deque(maxlen=TIMINGS_KEPT)
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def __call__(self, rows: list[StoredHit]) -> None:
        """Write ``rows``; returns once the child has committed them.

        Raises
        ------
        HitLogError
            If the child could not write them (it is started afresh for the next try).
        """
        payload = pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            child = self._started()
            try:
                assert child.stdin is not None and child.stdout is not None
                child.stdin.write(_LENGTH.pack(len(payload)) + payload)
                child.stdin.flush()
                answer = child.stdout.readline().decode("utf-8", "replace").split()
            except OSError as err:
                self._stop(child)
                raise HitLogError(f"the hit-writing process went away ({err})") from None
            if not answer:
                self._stop(child)
                raise HitLogError("the hit-writing process ended without writing the batch")
            if answer[0] != "ok":
                raise HitLogError("the hit-writing process could not write the batch: " + " ".join(answer[1:]))
            self.timings.append((int(answer[1]), float(answer[2]), float(answer[3])))

    def start(self) -> None:
        """Start the writing process now if it is not running (it takes a second of CPU to
        import its database driver: better during a count-in than when the first hits or the
        end of a run wait on it). Returns at once."""
        with self._lock:
            self._started()

    def close(self) -> None:
        """Let the child finish what it was given and exit."""
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            assert child.stdin is not None
            try:
                child.stdin.close()
            except OSError:
                pass
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def _started(self) -> subprocess.Popen[bytes]:
        if self._child is None or self._child.poll() is not None:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "drumjam.store.hitlog", self.url],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        return self._child

    def _stop(self, child: subprocess.Popen[bytes]) -> None:
        child.kill()
        child.wait()
        self._child = None


def _read_batch(stream: BinaryIO) -> list[StoredHit] | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    payload = stream.read(size)
    if len(payload) < size:
        return None  # the server died while handing a batch over: it was never confirmed
    return pickle.loads(payload)  # noqa: S301 (written only by the parent process)


def serve(url: str, source: BinaryIO, answers: BinaryIO) -> None:
    """The child's loop: read batches from ``source`` until it closes, insert each, answer
    ``ok HITS WALL_S CPU_S`` or ``error MESSAGE`` on ``answers``."""
    while (rows := _read_batch(source)) is not None:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            insert_hits(rows, url)
        except Exception as err:  # noqa: BLE001 (reported to the parent, which keeps the batch)
            answer = f"error {type(err).__name__}: {err}".replace("\n", " ")
        else:
            answer = f"ok {len(rows)} {time.perf_counter() - t0:.6f} {time.process_time() - c0:.6f}"
        try:
            answers.write(answer.encode() + b"\n")
            answers.flush()
        except OSError:
            pass  # the server is gone; what is left in the pipe is still written


def main() -> None:
    """Entry point of the child process."""
    if hasattr(os, "nice"):  # not on Windows
        os.nice(CHILD_NICENESS)
    serve(sys.argv[1], sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
