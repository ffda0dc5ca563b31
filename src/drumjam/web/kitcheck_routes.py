"""The kit check: the page asks for each drum in turn and records the microphone meanwhile.

``POST /api/kitcheck`` takes the recording as one microphone frame (its header names the
audio-clock frame of its first sample) with the drums asked for (``voices``, in order), each
for ``prompt_s`` seconds from audio-clock frame ``prompts_frame``. It answers the kit's profile
(:func:`drumjam.analysis.kitprofile.check_kit`: input gain, thresholds, which drums cannot be
told apart) and, given the player's ``name``, stores it for them and the microphone's
``device``; ``GET /api/kitcheck`` reads it back. A microphone player's transcription uses the
profile stored for them and their device (:func:`stored_kit`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from drumjam.analysis.kitprofile import MAX_CHECK_S, KitProfile, check_kit
from drumjam.errors import InputError
from drumjam.session.live import clean_name
from drumjam.session.mic import decode_frame
from drumjam.store.inputs import device_key, get_kit_profile, save_kit_profile
from drumjam.web.mic_routes import DeviceLabel, PlayerName, SampleRate
from drumjam.web.protocol import KitCheckOut, MicStartMessage, error_responses
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
    if player:
        save_kit_profile(player, device=device, profile=profile.to_dict(), url=state.db_url)
    return {"name": player, "device": device_key(device), "checked": True, "stored": bool(player),
            **profile.to_dict()}


@router.get("", response_model=KitCheckOut)
def stored(state: JamStateDep, name: PlayerName, device: DeviceLabel = "") -> dict[str, Any]:
    """The kit profile stored for a player's microphone (``checked`` false: never checked)."""
    player = clean_name(name, "Player 1")
    profile = get_kit_profile(player, device=device, url=state.db_url)
    return {"name": player, "device": device_key(device), "checked": profile is not None,
            "stored": profile is not None, **(profile or {})}


def stored_kit(state: JamState, entry: LiveEntry, msg: MicStartMessage) -> KitProfile | None:
    """The kit profile stored for the player starting their microphone and its device, which
    their transcription is adapted to (None: never checked, or no such player)."""
    if not 0 <= msg.player < len(entry.session.players):
        return None
    name = entry.session.players[msg.player].name
    profile = get_kit_profile(name, device=msg.device, url=state.db_url)
    return None if profile is None else KitProfile.from_dict(profile)
