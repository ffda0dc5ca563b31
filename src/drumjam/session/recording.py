"""Write-through of live hits: every hit handed to storage in batches, at most a moment behind.

The live path only appends a row to a list under a lock (microseconds); a background thread
hands the batch to the sink every ``every_s`` seconds, so a crash loses at most the hits of the
last ``every_s`` plus one write. (The app's sink, :class:`drumjam.store.hitlog.HitLog`, writes
in a process of its own.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

#: How often the writer hands its batch to storage.
WRITE_EVERY_S = 0.1
#: Pause before a failed batch is tried again.
RETRY_AFTER_S = 0.5

log = logging.getLogger("drumjam.session")


class HitWriter:
    """Batches rows (one a hit) and writes them through ``sink`` on a background thread.

    Parameters
    ----------
    sink : callable
        Stores a list of rows (e.g. :data:`drumjam.store.hitlog.StoredHit` tuples, inserted
        into the database); a batch whose write fails is kept and tried again.
    every_s : float
        Longest wait between a hit's arrival and its write.
    """

    def __init__(self, sink: Callable[[list[Any]], None], *, every_s: float = WRITE_EVERY_S) -> None:
        self.sink = sink
        self.every_s = every_s
        self._pending: list[Any] = []
        self._cond = threading.Condition()
        self._appended = 0
        self._written = 0
        self._hurry = False
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="drumjam-hit-writer", daemon=True)
        self._thread.start()

    def append(self, row: Any) -> None:
        """Queue one row for writing (returns at once)."""
        with self._cond:
            self._pending.append(row)
            self._appended += 1
            if len(self._pending) == 1:
                self._cond.notify_all()

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Write every hit appended so far; True once they are stored, False on timeout."""
        with self._cond:
            target = self._appended
            self._hurry = True
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._written >= target, timeout_s)

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout=30.0)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closing)
                if not self._pending:
                    return
                self._cond.wait_for(lambda: self._hurry or self._closing, self.every_s)
                batch, self._pending = self._pending, []
                self._hurry = False
            try:
                self.sink(batch)
            except Exception:  # noqa: BLE001 (a storage failure must not lose the batch)
                log.exception("could not write %d hits; trying again", len(batch))
                with self._cond:
                    self._pending[:0] = batch
                    self._cond.wait(RETRY_AFTER_S)
                continue
            with self._cond:
                self._written += len(batch)
                self._cond.notify_all()
