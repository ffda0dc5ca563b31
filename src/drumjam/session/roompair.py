"""Two microphone players in one room: each microphone hears both kits.

When the two microphone players of a session are in one room, microphone A also hears kit B
and its transcription finds kit B's louder strokes too. :class:`RoomPair` sits between the two
:class:`~drumjam.session.mic.MicInput` streams and the session's one hit path: it keeps a short
ring of each microphone's bleed-cancelled audio on the timeline (:meth:`tap`), holds every hit
a microphone hears (:meth:`candidate`) until both streams have passed it by a few ms, decides
with :class:`~drumjam.analysis.kitcheck.PairAttribution` whether it is that player's kit's, and
scores only those. The kits' signatures (how each kit sounds in the other microphone) come from
the room check. A hit is decided once both streams have passed it by
:func:`~drumjam.analysis.kitcheck.decide_after` (27 ms at 48 kHz); the transcriber reports it
later than that (its look-ahead), so a live mark waits only for the other stream to catch up:
at most one frame when both stream together. A player's hits still undecided when their
microphone stops are scored as the partner's stream passes them (without a live mark).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from drumjam.analysis.kitcheck import KitSignature, PairAttribution
from drumjam.errors import InputError
from drumjam.model import Hit
from drumjam.scoring import HitResult
from drumjam.session.mic import MicHit


class RoomPair:
    """The joint stage of two microphone players (0 and 1) in one room.

    Parameters
    ----------
    score : callable
        ``score(player, hit)``: the session's hit path (the hit on the timeline as the
        player's device heard it), returning the verdict.
    sample_rate : int
        Of both microphones, in Hz.
    """

    def __init__(self, score: Callable[[int, Hit], HitResult | None], *, sample_rate: int) -> None:
        self.score = score
        self.sample_rate = int(sample_rate)
        self._stage = PairAttribution([None, None], sample_rate=self.sample_rate)
        self._out: list[list[MicHit]] = [[], []]
        #: Hits each microphone heard that were the other kit's.
        self.left_out = [0, 0]
        self._lock = threading.Lock()

    def join(self, player: int, kit: KitSignature, *, sample_rate: int) -> None:
        """Player ``player``'s microphone (re)starts, with their kit's room signature (until
        the partner's starts, this one's hits are kept after a short wait).

        Raises
        ------
        InputError
            If its sample rate differs from the partner's.
        """
        if int(sample_rate) != self.sample_rate:
            raise InputError(f"the two microphones in one room must stream at one sample rate; "
                             f"this one runs at {sample_rate} Hz, its partner at "
                             f"{self.sample_rate} Hz")
        with self._lock:
            self._stage.start(player, kit)

    def tap(self, player: int, at_sample: int, samples: np.ndarray) -> None:
        """A stretch of the player's bleed-cancelled audio from timeline sample ``at_sample``."""
        with self._lock:
            self._stage.feed(player, at_sample, samples)

    def candidate(self, player: int, hit: Hit) -> None:
        """A hit the player's microphone heard (timeline seconds): held until decided."""
        with self._lock:
            self._stage.add(player, hit)

    def end(self, player: int) -> None:
        """The player's microphone stopped: it is silent from now on."""
        with self._lock:
            self._stage.end(player)

    def take(self, player: int) -> list[MicHit]:
        """Decide what can be decided (scoring the kept hits) and hand over ``player``'s."""
        with self._lock:
            for p, hit, kept in self._stage.decide():
                if kept:
                    self._out[p].append(MicHit(hit, self.score(p, hit)))
                else:
                    self.left_out[p] += 1
            out, self._out[player] = self._out[player], []
        return out
