"""Microphone players on a local session's WebSocket.

``mic_start`` opens a :class:`~drumjam.session.mic.MicInput` for a player (with the backing
track and the clicks as the page plays them, to cancel their bleed); binary frames feed it; every hit it hears
is answered with a ``judgment`` marked ``mic`` — the same verdict and running figures as a
key's. Warnings (clipping, silence, the song too loud in the microphone) and the end of a
stream come as ``mic_status``. When the stream ends — ``mic_end``, or the connection closes
because the device was unplugged or the page went away — its last hits are scored and the
session, with every hit already played, is kept.

Two microphone players started with ``room_pair`` are in one room: their hits pass through a
:class:`~drumjam.session.roompair.RoomPair` (shared by both slots), which scores only the hits
of each player's own kit, using the room check stored for both kits. A page may stream both
microphones, or each device its own (two connections): a connection hears the judgments of the
players it started. A microphone on a device joined to the session (:mod:`drumjam.web.join_routes`)
has its frames placed on the host's audio clock as they arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from drumjam.analysis.bleed import LearnedPath
from drumjam.errors import DrumjamError, InputError
from drumjam.io.audio import mapped_audio
from drumjam.scoring import HitResult
from drumjam.session.mic import MicFrame, MicHit, MicInput, decode_frame, due_notes
from drumjam.session.playback import played_reference
from drumjam.session.roompair import RoomPair
from drumjam.store.inputs import device_key
from drumjam.web.kitcheck_routes import stored_kit, stored_room
from drumjam.web.protocol import JudgmentMessage, MicStartMessage, MicStatusMessage
from drumjam.web.state import JamState, LiveEntry

#: A stream whose audio had slipped or drifted this far by its end says so, in ms.
SAID_SLIP_MS = 1.0


@dataclass
class MicSlot:
    """A player's open microphone: its input, the hits it has answered, whether the bleed
    warning was given, and a lock for a room whose end may flush it while a frame is fed."""

    mic: MicInput
    count: int = 0
    bleed_warned: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: The room pair the player's microphone is part of (its hits are decided there).
    pair: RoomPair | None = None
    #: For a microphone on another device: ``restamp(first_frame, n)`` places its frames on
    #: the host's audio clock (:class:`~drumjam.session.devices.Restamp`).
    restamp: Callable[[int, int], int] | None = None
    #: ``keep(learned)``: where what the stream learned of the bleed is kept for the
    #: player's next take (:class:`~drumjam.web.state.BleedMemory`).
    keep_bleed: Callable[[LearnedPath], None] | None = None

    def hand_over_bleed(self) -> LearnedPath | None:
        """What the stream learned of the bleed (None: nothing), given to :attr:`keep_bleed`
        for the player's next take; the caller keeps it for a reconnection."""
        learned = self.mic.learned_bleed()
        if learned is not None and self.keep_bleed is not None:
            self.keep_bleed(learned)
        return learned


def judgment_message(entry: LiveEntry, *, seq: int, player: int, voice: str,
                     result: HitResult | None, mic: bool = False) -> str:
    """The ``judgment`` answering a hit (a key's or the microphone's)."""
    verdict: dict[str, Any] = {"voice": voice}
    if result is not None:
        d = result.to_dict()
        verdict = {k: d[k] for k in ("voice", "time_s", "target_time_s", "offset_ms", "judgment")}
    return JudgmentMessage(seq=seq, player=player, mic=mic, **verdict,
                           running=entry.session.running(player),
                           duet=entry.session.duet_running()).model_dump_json()


def start_mic(state: JamState, entry: LiveEntry, msg: MicStartMessage, *,
              restamp: Callable[[int, int], int] | None = None) -> list[str]:
    """Open a player's microphone (a running one is ended first, its hits kept); ``restamp``
    places the frames of a microphone on another device on the host's audio clock."""
    if msg.player >= len(entry.session.players):
        raise InputError(f"player {msg.player} does not exist in this session; use "
                         f"0-{len(entry.session.players) - 1}")
    replies = end_mic(entry, msg.player) if msg.player in entry.mics else []
    pair = _room_pair(state, entry, msg) if msg.room_pair else None
    played = None
    if msg.cancel_bleed:
        path = state.library.audio_at_speed(entry.song, entry.practice.speed)
        # mapped, not held: a long song is read from the file cache as the session plays it
        audio = mapped_audio(path, sample_rate=msg.sample_rate, end_s=entry.plan.audio_end_s)
        played = played_reference(
            entry.plan, audio, sample_rate=msg.sample_rate, count_in_bars=msg.count_in_bars,
            beat_clicks=msg.click)
    latency_s = entry.session.players[msg.player].latency_ms / 1000
    setup = (entry.session.players[msg.player].name, device_key(msg.device))
    learned = entry.bleed_paths.get(msg.player)  # this take's, the microphone reconnected
    score = partial(entry.session.add_hit if pair is None else pair.candidate, msg.player)
    entry.mics[msg.player] = MicSlot(MicInput(
        score, sample_rate=msg.sample_rate, timeline_zero_frame=msg.timeline_zero_frame,
        round_trip_s=latency_s, played=played, kit=stored_kit(state, entry, msg),
        learned_bleed=learned, earlier_bleed=None if learned else state.bleed.get(*setup),
        tap=None if pair is None else partial(pair.tap, msg.player),
        expected=() if pair is not None else due_notes(entry.session.chart)),
        pair=pair, restamp=restamp, keep_bleed=partial(state.bleed.keep, *setup))
    said = [] if played is None else ["the backing track's and the clicks' bleed is cancelled"]
    if pair is not None:
        said.append("each hit is told apart from the other kit's in this room")
    return replies + [MicStatusMessage(player=msg.player, status="started",
                                       detail="; ".join(said) or None).model_dump_json()]


def _room_pair(state: JamState, entry: LiveEntry, msg: MicStartMessage) -> RoomPair:
    """The room pair the player's microphone joins (the partner's, or a new one)."""
    kit = stored_room(state, entry, msg)
    partner = entry.mics.get(1 - msg.player)
    if partner is not None and partner.pair is None:
        raise InputError(f"player {2 - msg.player}'s microphone was started without 'same "
                         "room'; start both microphones as one room pair")
    pair = partner.pair if partner is not None else RoomPair(
        entry.session.add_hit, sample_rate=msg.sample_rate)
    pair.join(msg.player, kit, sample_rate=msg.sample_rate)
    return pair


def mic_frame(entry: LiveEntry, data: bytes, players: set[int] | None = None) -> list[str]:
    """Feed one binary frame to its player's microphone; the judgments and warnings (in a room
    pair, the judgments now decided of the ``players`` this connection streams, default all)."""
    frame = decode_frame(data)
    slot = entry.mics.get(frame.player)
    if slot is None:
        raise InputError(f"player {frame.player}'s microphone was not started; send "
                         "'mic_start' before its audio")
    with slot.lock:  # another connection may end this stream meanwhile
        if slot.restamp is not None:
            frame = replace(frame, first_frame=slot.restamp(frame.first_frame, frame.samples.size))
        heard, warnings = feed_slot(slot, frame)
        if slot.pair is None:
            out = _judgments(slot, entry, frame.player, heard)
    if slot.pair is not None:
        out = []
        for p in sorted(set(entry.mics) if players is None else players):
            other = entry.mics.get(p)  # (another connection may end it meanwhile)
            if other is not None and other.pair is slot.pair:
                out += _judgments(other, entry, p, slot.pair.take(p))
    return out + warning_messages(slot, frame.player, warnings)


def feed_slot(slot: MicSlot, frame: MicFrame) -> tuple[list[MicHit], list[str]]:
    """Feed one frame to an open microphone: the hits it completed and new warnings (the song
    too loud in the microphone is said once)."""
    heard, warnings = slot.mic.feed(frame)
    report = slot.mic.bleed()
    if report is not None and report.too_strong and not slot.bleed_warned:
        slot.bleed_warned = True
        warnings.append(report.message)
    return heard, warnings


def warning_messages(slot: MicSlot, player: int, warnings: list[str]) -> list[str]:
    """The ``mic_status`` warnings, with how loud the song is in the microphone."""
    report = slot.mic.bleed()
    return [MicStatusMessage(player=player, status="warning", detail=w,
                             bleed=None if report is None else report.to_dict()).model_dump_json()
            for w in warnings]


def ended_message(slot: MicSlot, player: int, detail: str | None = None) -> str:
    """The ``mic_status`` of a stream that ended (its hits kept), with how far its audio had
    slipped or drifted against the speakers by then, if it had."""
    report = slot.mic.bleed()
    said = detail or "the microphone stopped; every hit it heard is kept"
    if report is not None and abs(report.slip_ms) >= SAID_SLIP_MS:
        said += (f" (by its end its audio came {abs(report.slip_ms):.0f} ms "
                 f"{'later' if report.slip_ms > 0 else 'earlier'} than at its start: the computer "
                 "dropped or repeated some, or the microphone runs on a clock of its own; the "
                 "song in it showed where, and the hits were placed where they were played)")
    return MicStatusMessage(player=player, status="ended", detail=said,
                            bleed=None if report is None else report.to_dict()).model_dump_json()


def end_mic(entry: LiveEntry, player: int) -> list[str]:
    """End a player's microphone stream: its last hits scored, the session kept."""
    slot = entry.mics.pop(player, None)
    if slot is None:
        return []
    learned = slot.hand_over_bleed()
    if learned is not None:  # the player's next stream (a reconnection) starts from it
        entry.bleed_paths[player] = learned
    try:
        with slot.lock:  # a frame of another connection may be fed meanwhile
            heard = slot.mic.end()
        if slot.pair is not None:
            slot.pair.end(player)
            heard = slot.pair.take(player)
    except DrumjamError as exc:  # e.g. the hit limit: what was played is kept
        return [ended_message(slot, player, str(exc))]
    return _judgments(slot, entry, player, heard) + [ended_message(slot, player)]


def end_started_mic(entry: LiveEntry, player: int) -> list[str]:
    """Answer ``mic_end``: end the player's microphone stream (as :func:`end_mic`).

    Raises
    ------
    InputError
        If the player's microphone is not streaming (never started, or ended already).
    """
    if player not in entry.mics:
        raise InputError(f"player {player}'s microphone is not streaming (it was never "
                         "started, or has ended); send 'mic_start' first")
    return end_mic(entry, player)


def end_all(entry: LiveEntry, players: set[int] | None = None) -> None:
    """The connection closed: end the microphones it streamed (default: every one of the
    session), their hits kept."""
    for player in list(entry.mics):
        if players is None or player in players:
            end_mic(entry, player)


def _judgments(slot: MicSlot, entry: LiveEntry, player: int, heard: list[MicHit]) -> list[str]:
    out = []
    for h in heard:
        out.append(judgment_message(entry, seq=slot.count, player=player,
                                    voice=h.hit.voice.value, result=h.result, mic=True))
        slot.count += 1
    return out

