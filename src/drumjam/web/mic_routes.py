"""Latency calibration by ear: the page plays known clicks and records its microphone.

``GET /api/calibration/ear/clicks.wav`` is the click sequence at the page's sample rate; the
page schedules it at audio-clock frame ``clicks_frame`` and records the microphone meanwhile;
``POST /api/calibration/ear`` takes the recording as one microphone frame
(:func:`drumjam.session.mic.decode_frame`: the header names the audio-clock frame of its first
sample) and answers the round trip from the speakers to the microphone, the latency of a
microphone player. Given the player's ``name`` (and the microphone's ``device`` label) it is
stored for them and that device; ``GET /api/calibration/ear/latency`` reads it back, and a session's
microphone player without a latency of their own gets it (:mod:`drumjam.web.session_routes`).
What the bursts tell of the room's response is stored too (:class:`~drumjam.web.state.BleedMemory`):
the player's first take with that microphone tries it, to cancel the song from its first note.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

import soundfile as sf
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from drumjam.analysis.bleed import learn_from_calibration
from drumjam.analysis.roundtrip import calibration_clicks, measure_round_trip
from drumjam.errors import InputError
from drumjam.session.live import clean_name
from drumjam.session.mic import MAX_RATE, MIN_RATE, decode_frame
from drumjam.store.inputs import device_key, get_input_calibration, save_input_calibration
from drumjam.web.protocol import InputCalibrationOut, error_responses
from drumjam.web.state import JamStateDep

router = APIRouter(prefix="/api/calibration/ear", tags=["calibration"],
                   responses=error_responses(400, 403, 413))
#: Longest recording taken (the clicks last about 4.5 s).
MAX_RECORDING_S = 10.0
SampleRate = Annotated[int, Query(ge=MIN_RATE, le=MAX_RATE, description="Of the page's audio, Hz.")]
PlayerName = Annotated[str, Query(max_length=200,
                                  description="The player (stored for them when given).")]
DeviceLabel = Annotated[str, Query(max_length=128, description="The microphone's label.")]


@router.get("/clicks.wav", response_class=Response, responses={200: {
    "content": {"audio/wav": {}}, "description": "The calibration clicks (16-bit WAV)."}})
def clicks(sample_rate: SampleRate = 48000) -> Response:
    """The known click sequence to play."""
    signal, _ = calibration_clicks(sample_rate=sample_rate)
    out = io.BytesIO()
    sf.write(out, signal, sample_rate, format="WAV", subtype="PCM_16")
    return Response(out.getvalue(), media_type="audio/wav")


@router.post("")
async def measure(state: JamStateDep, request: Request, sample_rate: SampleRate,
                  clicks_frame: Annotated[int, Query(ge=-2**53, le=2**53)],
                  name: PlayerName = "", device: DeviceLabel = "") -> dict[str, Any]:
    """The round trip (ms) of the recording sent as the body (one microphone frame) of the
    clicks played from audio-clock frame ``clicks_frame``; stored for ``name`` and ``device``
    when a name is given (``stored``: true)."""
    body = await request.body()
    frame = decode_frame(body, max_samples=int(MAX_RECORDING_S * sample_rate))
    start = clicks_frame - frame.first_frame
    if start < 0:
        raise InputError("the recording began after the clicks; start recording before they play")
    played, _ = calibration_clicks(sample_rate=sample_rate)
    measured = measure_round_trip(played, frame.samples[start:], sample_rate=sample_rate)
    answer = {**measured.to_dict(), "stored": False}
    player = clean_name(name, "")
    if player:
        save_input_calibration(player, input_kind="mic", device=device,
                               latency_ms=measured.latency_ms, peak_ratio=measured.peak_ratio,
                               url=state.db_url)
        # what the bursts tell of the room: the player's first take tries it on its count-in
        path = await run_in_threadpool(learn_from_calibration, played, frame.samples[start:],
                                       sample_rate=sample_rate,
                                       round_trip_s=measured.latency_ms / 1000)
        state.bleed.keep(player, device_key(device), path)
        answer.update(stored=True, name=player, device=device_key(device))
    return answer


@router.get("/latency", response_model=InputCalibrationOut)
def stored(state: JamStateDep, name: PlayerName, device: DeviceLabel = "") -> dict[str, Any]:
    """The round trip stored for a player's microphone (``latency_ms`` null: never measured)."""
    player = clean_name(name, "Player 1")
    row = get_input_calibration(player, input_kind="mic", device=device, url=state.db_url)
    return row or {"name": player, "input": "mic", "device": device_key(device), "latency_ms": None}
