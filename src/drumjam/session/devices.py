"""Two devices in one local session: each device's audio clock mapped to the host's.

A second device joined to a local session (its own microphone for player 2, in the same room
as the host) captures on its own audio clock, which starts elsewhere and runs at its own rate.
Both devices measure their audio clock against the server clock with the remote duets'
NTP-style round trips (:mod:`drumjam.session.clock`, the same estimator, its drift included):
a device stamps a ping with its audio clock, the server stamps arrival and departure, and the
device reports the four stamps back. :class:`DeviceClocks` keeps one
:class:`~drumjam.session.clock.ClockSync` per device (seat 0 is the host, whose audio clock
the song plays on and the session's timeline is counted on) and maps a frame of the joined
device's audio clock to the host's: device frame -> server time -> host frame.

:class:`Restamp` re-stamps a joined device's microphone frames onto the host's audio clock as
they arrive. Consecutive frames stay contiguous while the mapping agrees with them within
:data:`RESTAMP_TOLERANCE_S`; when the two clocks' rates have moved the mapping further, the
next frame is placed where the mapping says (the microphone stream fills the few samples
skipped with silence, or drops those repeated), so the device's audio never drifts from the
song by more than that tolerance.
"""

from __future__ import annotations

from dataclasses import replace

from drumjam.errors import InputError
from drumjam.io.audio import resample
from drumjam.session.clock import ClockEstimate, ClockSync
from drumjam.session.mic import MicFrame

#: Round trips a device's clock needs before its audio is placed on the host's.
MIN_SYNC_SAMPLES = 8
#: A joined device's frames are re-placed when the mapping moves this far from contiguous.
RESTAMP_TOLERANCE_S = 0.00025
#: Seats: the host's device and the joined one.
HOST, JOINED = 0, 1


class ClockNotSyncedError(InputError):
    """A device's audio clock is not mapped to the shared clock yet."""


class DeviceClocks:
    """The audio clocks of a session's two devices against the server clock (milliseconds)."""

    def __init__(self) -> None:
        self._syncs = [ClockSync(), ClockSync()]
        self._counts = [0, 0]

    def add(self, seat: int, t0_ms: float, t1_ms: float, t2_ms: float,
            t3_ms: float) -> ClockEstimate:
        """One round trip of ``seat``'s device: ``t0_ms``/``t3_ms`` on its audio clock when
        the ping left and the reply came back, ``t1_ms``/``t2_ms`` on the server clock.

        Raises
        ------
        InputError
            If the stamps are not finite or out of order.
        """
        estimate = self._syncs[seat].add(t0_ms / 1000, t1_ms / 1000, t2_ms / 1000, t3_ms / 1000)
        self._counts[seat] += 1
        return estimate

    def forget(self, seat: int) -> None:
        """The seat's device left (a device that joins again measures its clock anew)."""
        self._syncs[seat] = ClockSync()
        self._counts[seat] = 0

    def samples(self, seat: int) -> int:
        """Round trips measured for the seat's device."""
        return self._counts[seat]

    def synced(self, seat: int) -> bool:
        """Whether the seat's device has made :data:`MIN_SYNC_SAMPLES` round trips."""
        return self._counts[seat] >= MIN_SYNC_SAMPLES

    def estimate(self, seat: int) -> ClockEstimate:
        """The seat's clock estimate (server minus audio clock, in seconds).

        Raises
        ------
        ClockNotSyncedError
            Before :data:`MIN_SYNC_SAMPLES` round trips.
        """
        estimate = self._syncs[seat].estimate
        if not self.synced(seat) or estimate is None:
            who = "the host's device" if seat == HOST else "the joined device"
            raise ClockNotSyncedError(
                f"the clocks of the two devices are not synchronised yet ({who} has measured "
                f"{self._counts[seat]} of {MIN_SYNC_SAMPLES} round trips); keep both pages open "
                "a few seconds and try again")
        return estimate

    def server_s(self, seat: int, audio_s: float) -> float:
        """The server time at which the seat's audio clock reads ``audio_s``."""
        return self.estimate(seat).to_server(audio_s)

    def audio_s(self, seat: int, server_s: float) -> float:
        """The seat's audio clock at server time ``server_s``."""
        return self.estimate(seat).to_local(server_s)

    def to_host_frame(self, frame: int, *, sample_rate: int) -> float:
        """The host's audio-clock frame at which the joined device's clock reads ``frame``."""
        server = self.server_s(JOINED, frame / sample_rate)
        return self.audio_s(HOST, server) * sample_rate


def recording_on_host_clock(clocks: DeviceClocks, frame: MicFrame, *, sample_rate: int) -> MicFrame:
    """A recording of the joined device (one frame, seconds long) on the host's audio clock:
    its first sample placed by the mapping, and resampled to the length it spans there (the
    clocks' rates differ by their drift: 300 ppm is 2.4 ms over an 8 s room check)."""
    n = frame.samples.size
    first = clocks.to_host_frame(frame.first_frame, sample_rate=sample_rate)
    span = round(clocks.to_host_frame(frame.first_frame + n, sample_rate=sample_rate) - first)
    samples = (frame.samples if span == n or n < 2
               else resample(frame.samples, sample_rate, sample_rate * span / n))
    return replace(frame, first_frame=round(first), samples=samples)


class Restamp:
    """Places the joined device's microphone frames on the host's audio clock.

    Parameters
    ----------
    clocks : DeviceClocks
        The session's device clocks (both synced).
    sample_rate : int
        Of the joined device's microphone (and the host's audio clock), in Hz.
    """

    def __init__(self, clocks: DeviceClocks, *, sample_rate: int) -> None:
        self.clocks = clocks
        self.sample_rate = int(sample_rate)
        self._tolerance = max(1, round(RESTAMP_TOLERANCE_S * self.sample_rate))
        self._next_device: int | None = None
        self._next_host = 0
        #: Times a frame was re-placed (the clocks' rates differ, or the estimate moved).
        self.moves = 0

    def __call__(self, first_frame: int, n: int) -> int:
        """The host frame of a frame of ``n`` samples starting at the device's ``first_frame``.

        Raises
        ------
        ClockNotSyncedError
            If either device's clock is not synchronised.
        """
        mapped = self.clocks.to_host_frame(first_frame, sample_rate=self.sample_rate)
        if first_frame == self._next_device and abs(mapped - self._next_host) <= self._tolerance:
            at = self._next_host
        else:
            self.moves += self._next_device is not None
            at = round(mapped)
        self._next_device, self._next_host = first_frame + n, at + n
        return at
