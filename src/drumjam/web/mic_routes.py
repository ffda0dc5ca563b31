"""Latency calibration by ear: the page plays known clicks and records its microphone.

``GET /api/calibration/ear/clicks.wav`` is the click sequence at the page's sample rate; the
page schedules it at audio-clock frame ``clicks_frame`` and records the microphone meanwhile;
``POST /api/calibration/ear`` takes the recording as one microphone frame
(:func:`drumjam.session.mic.decode_frame`: the header names the audio-clock frame of its first
sample) and answers the round trip from the speakers to the microphone, the latency of a
microphone player.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

import soundfile as sf
from fastapi import APIRouter, Query, Request, Response

from drumjam.analysis.roundtrip import calibration_clicks, measure_round_trip
from drumjam.errors import InputError
from drumjam.session.mic import MAX_RATE, MIN_RATE, decode_frame
from drumjam.web.protocol import error_responses

router = APIRouter(prefix="/api/calibration/ear", tags=["calibration"],
                   responses=error_responses(400, 403, 413))
#: Longest recording taken (the clicks last about 4.5 s).
MAX_RECORDING_S = 10.0
SampleRate = Annotated[int, Query(ge=MIN_RATE, le=MAX_RATE, description="Of the page's audio, Hz.")]


@router.get("/clicks.wav", response_class=Response, responses={200: {
    "content": {"audio/wav": {}}, "description": "The calibration clicks (16-bit WAV)."}})
def clicks(sample_rate: SampleRate = 48000) -> Response:
    """The known click sequence to play."""
    signal, _ = calibration_clicks(sample_rate=sample_rate)
    out = io.BytesIO()
    sf.write(out, signal, sample_rate, format="WAV", subtype="PCM_16")
    return Response(out.getvalue(), media_type="audio/wav")


@router.post("")
async def measure(request: Request, sample_rate: SampleRate,
                  clicks_frame: Annotated[int, Query(ge=-2**53, le=2**53)]) -> dict[str, Any]:
    """The round trip (ms) of the recording sent as the body (one microphone frame) of the
    clicks played from audio-clock frame ``clicks_frame``."""
    body = await request.body()
    frame = decode_frame(body, max_samples=int(MAX_RECORDING_S * sample_rate))
    start = clicks_frame - frame.first_frame
    if start < 0:
        raise InputError("the recording began after the clicks; start recording before they play")
    played, _ = calibration_clicks(sample_rate=sample_rate)
    return measure_round_trip(played, frame.samples[start:], sample_rate=sample_rate).to_dict()
