"""Microphone players in remote duet rooms.

A player with an acoustic kit sends ``mic_start`` on the room's connection once the song is
scheduled (``timeline_zero_frame``: the audio-clock frame at which their page plays the room's
timeline at 0 s, a lead-in bar before the song, their backing-track delay included), then the
microphone's binary frames (:mod:`drumjam.session.mic`) on the same connection. The audio is
cleaned of what the page plays (backing track and clicks), transcribed in streaming mode, and
every hit goes through :meth:`~drumjam.session.rooms.Room.add_mic_hit`: the player's
calibration (their round trip by ear) and backing-track delay are removed and the hit is
scored live and in the duet's result like a key's. The player gets a ``judgment`` marked
``mic`` (``seq`` counts the microphone's hits), the partner a ``partner_hit``; warnings and the
end of the stream come as ``mic_status``. A stream that ends — ``mic_end``, the device gone,
the connection lost, the room ending — is flushed; the room and every hit are kept, and what
the stream learned of the bleed starts the player's next one (a microphone reconnected
mid-song cancels the song and the clicks at once) and is tried first in their next room with
the same microphone.
"""

from __future__ import annotations

from functools import partial

from pydantic import BaseModel

from drumjam.analysis.kitprofile import KitProfile
from drumjam.errors import DrumjamError
from drumjam.io.audio import mapped_audio
from drumjam.session.mic import MicHit, MicInput, decode_frame, due_notes
from drumjam.session.playback import played_reference
from drumjam.session.rooms import HitAck, Room, RoomError, Seat
from drumjam.store.inputs import device_key, get_kit_profile
from drumjam.web.mic_socket import MicSlot, ended_message, feed_slot, warning_messages
from drumjam.web.protocol import (
    JudgmentMessage,
    MicStartMessage,
    MicStatusMessage,
    PartnerHitMessage,
)
from drumjam.web.state import BleedMemory, JamState

#: Messages for the player (JSON text) and for the partner.
Replies = tuple[list[str], list[BaseModel]]


def start_room_mic(room: Room, seat: Seat, msg: MicStartMessage, kit: KitProfile | None,
                   bleed: BleedMemory, mics: dict[str, MicSlot]) -> Replies:
    """Open a seat's microphone (a running one is ended first, its hits kept), transcribed
    with the player's kit profile for this microphone if they checked their kit; ``bleed``
    holds what their last take with this microphone learned of the speakers' bleed (tried
    first, see :class:`~drumjam.analysis.bleed.BleedCanceller`), and is given what this one
    learns."""
    if room.start_s is None:
        raise RoomError("the microphone starts with the song: send 'mic_start' once it is "
                        "scheduled")
    own, partner = end_room_mic(room, seat, mics)
    played, detail = None, None
    if msg.cancel_bleed:
        path = room.song.audio_path  # without it the page plays the clicks alone
        # mapped, not held: a long song is read from the file cache as the room plays it
        audio = (mapped_audio(path, sample_rate=msg.sample_rate, end_s=room.plan.audio_end_s)
                 if path.exists() else None)
        played = played_reference(room.plan, audio, sample_rate=msg.sample_rate,
                                  count_in_bars=msg.count_in_bars, beat_clicks=msg.click)
        detail = ("the clicks' bleed is cancelled" if audio is None
                  else "the backing track's and the clicks' bleed is cancelled")
    setup = (seat.name, device_key(msg.device))
    mics[seat.letter] = MicSlot(MicInput(
        partial(room.add_mic_hit, seat), sample_rate=msg.sample_rate,
        timeline_zero_frame=msg.timeline_zero_frame, round_trip_s=seat.calibration_ms / 1000,
        played=played, kit=kit, learned_bleed=seat.bleed_path,
        earlier_bleed=None if seat.bleed_path else bleed.get(*setup),
        expected=due_notes(room.plan.chart)), keep_bleed=partial(bleed.keep, *setup))
    own.append(MicStatusMessage(player=room.seats.index(seat), status="started",
                                detail=detail).model_dump_json())
    return own, partner


def stored_profile(state: JamState, name: str, device: str) -> KitProfile | None:
    """The kit profile stored for a player's name and microphone (None: never checked)."""
    profile = get_kit_profile(name, device=device, url=state.db_url)
    return None if profile is None else KitProfile.from_dict(profile)


def room_mic_frame(room: Room, seat: Seat, data: bytes, mics: dict[str, MicSlot]) -> Replies:
    """Feed one binary frame to the seat's microphone (the frame's player byte is not used:
    the connection says who plays)."""
    frame = decode_frame(data)
    slot = mics.get(seat.letter)
    if slot is None:
        raise RoomError("your microphone was not started; send 'mic_start' before its audio")
    with slot.lock:
        heard, warnings = feed_slot(slot, frame)
        own, partner = _answers(room, seat, slot, heard)
    return own + warning_messages(slot, room.seats.index(seat), warnings), partner


def end_room_mic(room: Room, seat: Seat, mics: dict[str, MicSlot]) -> Replies:
    """End the seat's microphone stream: its last hits scored, the room kept."""
    slot = mics.pop(seat.letter, None)
    if slot is None:
        return [], []
    index = room.seats.index(seat)
    with slot.lock:
        seat.bleed_path = slot.hand_over_bleed() or seat.bleed_path  # for a reconnection
        try:
            heard = slot.mic.end()
        except DrumjamError as exc:  # the room closed meanwhile, or the hit limit: hits kept
            return [ended_message(slot, index, str(exc))], []
        own, partner = _answers(room, seat, slot, heard)
    return own + [ended_message(slot, index)], partner


def _answers(room: Room, seat: Seat, slot: MicSlot, heard: list[MicHit]) -> Replies:
    own: list[str] = []
    partner: list[BaseModel] = []
    lead_s = room.plan.lead_in_s
    for h in heard:
        ack = HitAck(slot.count, room.seats.index(seat), False, h.result, lead_s)
        own.append(JudgmentMessage(**ack.to_dict(), mic=True).model_dump_json())
        slot.count += 1
        if h.result is not None:
            partner.append(PartnerHitMessage(
                voice=h.hit.voice.value, velocity=h.hit.velocity,
                time_s=round(h.hit.time_s - lead_s + seat.track_delay_ms / 1000, 6)))
    return own, partner
