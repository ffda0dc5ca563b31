"""Latency calibration: a player taps along to a click; the median offset is their latency."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from drumjam.session.calibration import measure_latency
from drumjam.session.live import clean_name
from drumjam.store.sessions import get_calibration, save_calibration
from drumjam.web.protocol import CalibrationIn, error_responses
from drumjam.web.state import JamStateDep

router = APIRouter(prefix="/api", tags=["calibration"], responses=error_responses(400, 403, 413))


@router.post("/calibration")
def calibrate(state: JamStateDep, body: CalibrationIn) -> dict[str, Any]:
    """Measure and store a player's latency."""
    name = clean_name(body.name, "Player 1")
    measured = measure_latency(body.clicks_s, body.taps_s)
    save_calibration(name, measured.latency_ms, measured.matched, url=state.db_url)
    return {"name": name, **measured.to_dict()}


@router.get("/calibration/{name}")
def stored_calibration(state: JamStateDep, name: str) -> dict[str, Any]:
    """A player's stored latency (``latency_ms`` is null if they never calibrated)."""
    name = clean_name(name, "Player 1")
    return {"name": name, "latency_ms": get_calibration(name, url=state.db_url)}
