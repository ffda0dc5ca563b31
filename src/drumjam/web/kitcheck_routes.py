"""The kit check: the page asks for each drum in turn and records the microphone meanwhile.

``POST /api/kitcheck`` takes the recording as one microphone frame (its header names the
audio-clock frame of its first sample) with the drums asked for (``voices``, in order), each
for ``prompt_s`` seconds from audio-clock frame ``prompts_frame``. It answers the kit's profile
(:func:`drumjam.analysis.kitprofile.check_kit`: input gain, thresholds, which drums cannot be
told apart) and, given the player's ``name``, stores it for them and the microphone's
``device``; ``GET /api/kitcheck`` reads it back. A microphone player's transcription uses the
profile stored for them and their device (:func:`stored_kit`).

Two kits in one room: ``POST /api/kitcheck/room`` is the room check of one player's kit. They
play their drums alone (each a few times) while both microphones record; the body holds two
microphone frames of one length, the player's own microphone's and then the other's. drumjam
learns how the kit sounds in the other microphone (:func:`drumjam.analysis.kitcheck.learn_kit`)
and stores it with the player's kit profile (``room``); two microphone players started as one
room pair need it for both kits (:func:`stored_room`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

import numpy as np

from drumjam.analysis.kitcheck import KitSignature, learn_kit
from drumjam.analysis.kitprofile import MAX_CHECK_S, KitProfile, check_kit
from drumjam.analysis.transcribe import transcribe_blocks
from drumjam.errors import InputError
from drumjam.session.live import clean_name
from drumjam.session.mic import MicFrame, decode_frame
from drumjam.store.inputs import device_key, get_kit_profile, save_kit_profile
from drumjam.web.mic_routes import DeviceLabel, PlayerName, SampleRate
from drumjam.web.protocol import KitCheckOut, MicStartMessage, RoomCheckOut, error_responses
from drumjam.web.state import JamState, JamStateDep, LiveEntry

router = APIRouter(prefix="/api/kitcheck", tags=["calibration"],
                   responses=error_responses(400, 403, 413))
Voices = Annotated[list[Annotated[str, Query(max_length=32)]],
                   Query(min_length=2, max_length=12, description="The drums asked for, in order.")]


@router.post("", response_model=KitCheckOut)
async def check(state: JamStateDep, request: Request, sample_rate: SampleRate, voices: Voices,
                prompts_frame: Annotated[int, Query(ge=-2**53, le=2**53)],
                prompt_s: Annotated[float, Query(ge=1.0, le=10.0)] = 3.0,
                name: PlayerName = "", device: DeviceLabel = "") -> dict[str, Any]:
    """Learn the kit from the recording sent as the body: drum ``voices[i]`` was asked for
    from ``prompts_frame + i * prompt_s`` seconds of audio clock on, for ``prompt_s``."""
    body = await request.body()
    frame = decode_frame(body, max_samples=int(MAX_CHECK_S * sample_rate))
    start_s = (prompts_frame - frame.first_frame) / sample_rate
    if start_s < 0:
        raise InputError("the recording began after the first drum was asked for; start "
                         "recording before the prompts")
    prompts = [(v, start_s + i * prompt_s, start_s + (i + 1) * prompt_s)
               for i, v in enumerate(voices)]
    profile = await run_in_threadpool(check_kit, frame.samples, prompts, sample_rate=sample_rate)
    player = clean_name(name, "")
    room = None
    if player:  # a room check stored before is kept: it depends on where the microphones stand
        room = (get_kit_profile(player, device=device, url=state.db_url) or {}).get("room")
        save_kit_profile(player, device=device, url=state.db_url,
                         profile={**profile.to_dict(), **({"room": room} if room else {})})
    return {"name": player, "device": device_key(device), "checked": True, "stored": bool(player),
            **profile.to_dict(), "room": room}


@router.get("", response_model=KitCheckOut)
def stored(state: JamStateDep, name: PlayerName, device: DeviceLabel = "") -> dict[str, Any]:
    """The kit profile stored for a player's microphone (``checked`` false: never checked),
    with its room check if one was made."""
    player = clean_name(name, "Player 1")
    profile = get_kit_profile(player, device=device, url=state.db_url) or {}
    return {**profile, "name": player, "device": device_key(device),
            "checked": "voices" in profile, "stored": "voices" in profile}


#: Shortest room check, in seconds of both microphones.
MIN_ROOM_CHECK_S = 2.0


@router.post("/room", response_model=RoomCheckOut)
async def room_check(state: JamStateDep, request: Request, sample_rate: SampleRate,
                     name: PlayerName = "", device: DeviceLabel = "",
                     partner_device: DeviceLabel = "") -> dict[str, Any]:
    """The room check of a player's kit: the body holds their own microphone's frame, then the
    other microphone's (one length each, both on one audio clock), recorded while they played
    their drums alone. Stored with their kit profile for ``device`` when ``name`` is given."""
    own, other = _two_frames(await request.body(), sample_rate)
    return await run_in_threadpool(learn_room, state, own, other, sample_rate=sample_rate,
                                   name=name, device=device, partner_device=partner_device)


def learn_room(state: JamState, own: np.ndarray, other: np.ndarray, *, sample_rate: int,
               name: str, device: str, partner_device: str) -> dict[str, Any]:
    """Learn a kit's room check from its own and the other microphone (one clock, one
    length) and store it with the player's kit profile for ``device`` (given a ``name``)."""
    hits = transcribe_blocks((own[i:i + sample_rate] for i in range(0, own.size, sample_rate)),
                             sample_rate=sample_rate)
    signature = learn_kit(own, other, hits, sample_rate=sample_rate)
    room = {"partner_device": device_key(partner_device), **signature.to_dict()}
    player = clean_name(name, "")
    if player:
        profile = get_kit_profile(player, device=device, url=state.db_url) or {}
        save_kit_profile(player, device=device, profile={**profile, "room": room}, url=state.db_url)
    return room


def _two_frames(body: bytes, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """The own and the other microphone's samples over the time both recorded."""
    if not body or len(body) % 2:
        raise InputError(f"a room check of {len(body)} bytes is not two microphone frames of "
                         "one length (the player's own microphone first, then the other)")
    half = len(body) // 2
    own, other = (decode_frame(part, max_samples=int(MAX_CHECK_S * sample_rate))
                  for part in (body[:half], body[half:]))
    return recorded_together(own, other, sample_rate)


def recorded_together(own: MicFrame, other: MicFrame,
                      sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """The own and the other microphone's samples over the time both recorded (frames on one
    audio clock).

    Raises
    ------
    InputError
        If they recorded together for less than :data:`MIN_ROOM_CHECK_S`.
    """
    start = max(own.first_frame, other.first_frame)
    end = min(own.first_frame + own.samples.size, other.first_frame + other.samples.size)
    if end - start < MIN_ROOM_CHECK_S * sample_rate:
        raise InputError(f"the two microphones recorded together for {max(end - start, 0) / sample_rate:.1f} s; "
                         f"the room check needs at least {MIN_ROOM_CHECK_S:.0f} s of both")
    return (own.samples[start - own.first_frame:end - own.first_frame],
            other.samples[start - other.first_frame:end - other.first_frame])


def stored_kit(state: JamState, entry: LiveEntry, msg: MicStartMessage) -> KitProfile | None:
    """The kit profile stored for the player starting their microphone and its device, which
    their transcription is adapted to (None: never checked, or no such player)."""
    if not 0 <= msg.player < len(entry.session.players):
        return None
    name = entry.session.players[msg.player].name
    profile = get_kit_profile(name, device=msg.device, url=state.db_url)
    return None if profile is None or "voices" not in profile else KitProfile.from_dict(profile)


def stored_room(state: JamState, entry: LiveEntry, msg: MicStartMessage) -> KitSignature:
    """The room check stored for the player starting their microphone as one of a room pair.

    Raises
    ------
    InputError
        If the session has no partner, or the player's kit never had the room check.
    """
    players = entry.session.players
    if len(players) != 2:
        raise InputError("'same room' pairs the two microphone players of a session, and this "
                         "session has one player")
    name = players[msg.player].name
    room = (get_kit_profile(name, device=msg.device, url=state.db_url) or {}).get("room")
    if room is None:
        raise InputError(
            f"the two kits in this room need the room check: {name}'s kit has not had it with "
            "this microphone. In the microphone setup, each player plays their drums alone "
            "while both microphones record (Room check); without it every hit would count "
            "for both players")
    return KitSignature.from_dict(room)
