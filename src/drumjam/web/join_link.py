"""Join links: player 2's own device joined to a local session, two kits in one room.

The host's page asks for a link (``POST /api/joins``) and keeps a connection to it (seat 0);
the device that opens the link joins as seat 1 and plays player 2 with its own microphone.
Both devices measure their audio clocks against the server's
(:class:`~drumjam.session.devices.DeviceClocks`); the room check records both microphones at
once, each on its own device; when the host starts a song with the link, the joined device is
told when song time 0 is heard (on the server clock) and streams its microphone as player 2's
half of the room pair, each frame placed on the host's audio clock
(:class:`~drumjam.session.devices.Restamp`). The song plays from the host's speakers only: the
joined device shows player 2's lanes and marks and stays silent.

Everything here is the state of the links of one app; :mod:`drumjam.web.join_routes` speaks
to the devices.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import BaseModel

from drumjam.errors import DrumjamError, InputError, NotFoundError
from drumjam.session.devices import HOST, JOINED, DeviceClocks
from drumjam.session.mic import MicFrame
from drumjam.web.protocol import JoinEndMessage, JoinPartnerMessage, RunMessage
from drumjam.web.state import LiveEntry

#: Links open at once.
MAX_LINKS = 200
#: Codes of closed links remembered (to tell "ended" from "unknown").
ENDED_KEPT = 1000
#: A link whose host's page is not connected is forgotten after this long.
UNUSED_LINK_S = 300.0
#: Seconds each player plays alone for the room check.
ROOM_CHECK_S = 8.0


class JoinError(DrumjamError, RuntimeError):
    """A join link cannot do what was asked now (the other device missing, say)."""


@dataclass
class JoinSeat:
    """One device of a link: its token, connection and set-up."""

    token: str
    socket: WebSocket | None = None
    device: str = ""
    latency_ms: float | None = None
    synced: bool = False


@dataclass
class RoomCheckRun:
    """A room check under way: whose kit, and each device's recording once sent."""

    player: int
    recordings: list[MicFrame | None] = field(default_factory=lambda: [None, None])


@dataclass(frozen=True)
class JoinRun:
    """The host's song as the joined device follows it: the host's audio-clock frame of
    timeline 0, its sample rate and the clicks it plays."""

    zero_frame: int
    sample_rate: int
    click: bool
    count_in_bars: int


class JoinLink:
    """A link between the host's device and the device that joins it."""

    def __init__(self, code: str, host_token: str) -> None:
        self.code = code
        self.seats = [JoinSeat(host_token), JoinSeat("")]
        self.clocks = DeviceClocks()
        self.names = ["Player 1", "Player 2"]
        self.sample_rate: int | None = None
        self.entry: LiveEntry | None = None
        self.run: JoinRun | None = None
        self.check: RoomCheckRun | None = None
        #: Whether the joined device has streamed its microphone in a run.
        self.streamed = False
        #: The host's connection to the session, which also gets player 2's judgments.
        self.host_live: WebSocket | None = None
        #: The server clock (s) when the host's page last connected or left.
        self.touched_s = time.monotonic()

    def connected(self, seat: int) -> bool:
        """Whether the seat's device is connected."""
        return self.seats[seat].socket is not None

    def partner_message(self, seat: int, status: str) -> JoinPartnerMessage:
        """What the other device is told about ``seat``."""
        s = self.seats[seat]
        return JoinPartnerMessage(status=status, names=self.names, device=s.device,
                                  latency_ms=s.latency_ms, synced=self.clocks.synced(seat))

    def require_partner(self) -> None:
        """Raise :class:`JoinError` unless the joined device is there with its clock synced."""
        if not self.connected(JOINED):
            raise JoinError("player 2's device has not joined: open the join link on it (or "
                            "untick 'Player 2 on another device')")
        self.clocks.estimate(JOINED)
        self.clocks.estimate(HOST)

    def run_message(self, run: JoinRun) -> RunMessage:
        """The joined device's start: timeline 0 on the server clock and the plan."""
        if self.entry is None:
            raise JoinError("no song is being played with this link")
        zero_s = self.clocks.server_s(HOST, run.zero_frame / run.sample_rate)
        return RunMessage(player=JOINED, names=self.names, zero_server_ms=zero_s * 1e3,
                          sample_rate=run.sample_rate, plan=self.entry.plan.to_dict(),
                          count_in_bars=run.count_in_bars, click=run.click)


class JoinService:
    """The join links of one app.

    Parameters
    ----------
    clock_s : callable
        The server clock the devices are synchronised to, in seconds (default
        :func:`time.monotonic`).
    """

    def __init__(self, clock_s: Callable[[], float] = time.monotonic) -> None:
        self.clock_s = clock_s
        self.links: dict[str, JoinLink] = {}
        self.ended: OrderedDict[str, str] = OrderedDict()

    def now_ms(self) -> float:
        """The server clock in milliseconds."""
        return self.clock_s() * 1e3

    def create(self) -> JoinLink:
        """A new link (its host token for the host's page only).

        Raises
        ------
        JoinError
            If :data:`MAX_LINKS` links are open.
        """
        now = time.monotonic()
        for old in [link for link in self.links.values()
                    if not link.connected(HOST) and now - link.touched_s > UNUSED_LINK_S]:
            self.close(old, "the host's page left it")
        if len(self.links) >= MAX_LINKS:
            raise JoinError(f"{MAX_LINKS} join links are open; try again in a few minutes")
        link = JoinLink(secrets.token_urlsafe(9), secrets.token_urlsafe(18))
        self.links[link.code] = link
        return link

    def get(self, code: str) -> JoinLink:
        """The open link with this code.

        Raises
        ------
        NotFoundError
            If the link ended or never existed, saying which.
        """
        link = self.links.get(code)
        if link is not None:
            return link
        if code in self.ended:
            raise NotFoundError(f"this jam has ended ({self.ended[code]}); ask the host for a "
                                "new join link")
        raise NotFoundError("no jam has this join link; check the link, or ask the host for a "
                            "new one")

    def host_link(self, code: str, token: str) -> JoinLink:
        """The link for its host (code and host token).

        Raises
        ------
        NotFoundError
            If no open link has this code and token.
        """
        link = self.get(code)
        if not secrets.compare_digest(link.seats[HOST].token, token):
            raise NotFoundError("no join link has this code and host token; tick 'Player 2 on "
                                "another device' again for a new link")
        return link

    def of_entry(self, entry: LiveEntry) -> JoinLink | None:
        """The link a live session is played with, if any."""
        return next((link for link in self.links.values() if link.entry is entry), None)

    def close(self, link: JoinLink, why: str) -> None:
        """Forget a link (its code then says the jam ended)."""
        self.links.pop(link.code, None)
        self.ended[link.code] = why
        while len(self.ended) > ENDED_KEPT:
            self.ended.popitem(last=False)

    async def send(self, link: JoinLink, seat: int, message: BaseModel | str) -> None:
        """Send to one device if it is connected (a failing socket is dropped)."""
        ws = link.seats[seat].socket
        if ws is None:
            return
        try:
            await ws.send_text(message if isinstance(message, str) else message.model_dump_json())
        except (RuntimeError, WebSocketDisconnect, OSError):
            link.seats[seat].socket = None

    async def to_host_live(self, link: JoinLink, texts: list[str]) -> None:
        """Pass player 2's judgments on to the host's session connection."""
        ws = link.host_live
        for text in texts if ws is not None else ():
            try:
                await ws.send_text(text)
            except (RuntimeError, WebSocketDisconnect, OSError):
                link.host_live = None
                return

    async def run_started(self, entry: LiveEntry, *, zero_frame: int, sample_rate: int,
                          click: bool, count_in_bars: int) -> None:
        """The host's microphone started with the song: the joined device follows."""
        link = self.of_entry(entry)
        if link is None:
            return
        link.run = JoinRun(zero_frame, sample_rate, click, count_in_bars)
        try:
            message: BaseModel = link.run_message(link.run)
        except InputError as exc:  # the clocks lost sync meanwhile
            message = JoinEndMessage(detail=str(exc))
        await self.send(link, JOINED, message)

    async def run_over(self, entry: LiveEntry, session_id: int | None, detail: str) -> None:
        """The host's run ended (saved as ``session_id``, or stopped): tell the joined device."""
        link = self.of_entry(entry)
        if link is None:
            return
        link.entry, link.run, link.host_live = None, None, None
        await self.send(link, JOINED, JoinEndMessage(session_id=session_id, detail=detail))


async def close_quietly(ws: WebSocket | None) -> None:
    """Close a connection that may already be gone."""
    if ws is not None:
        try:
            await ws.close(code=1000)
        except RuntimeError:
            pass


def joins_of(app: Any) -> JoinService:
    """The app's :class:`JoinService` (made on first use)."""
    service = getattr(app.state, "joins", None)
    if service is None:
        service = JoinService()
        app.state.joins = service
    return service
