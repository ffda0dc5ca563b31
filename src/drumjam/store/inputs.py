"""Per player and input: the round trip measured by ear, the kit check's profile and the
speakers' response in the microphone.

A microphone player's latency is the round trip from the speakers to their microphone, which
depends on the device (a USB interface and a laptop's built-in microphone differ by tens of
ms), so it is stored per player, input kind and device label (latest measurement wins). The
kit check's result (input gain, thresholds, how the kit's drums sound) is stored per player and
device the same way, and so is the room's response from the speakers to the microphone that
the player's last take (or calibration by ear) applied to cancel the song: their next take
tries it first. Tap-along calibrations stay in ``player_calibrations``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from drumjam.errors import InputError
from drumjam.store.db import Base, session_scope

#: Input kinds a latency is stored for.
INPUT_KINDS = ("mic", "midi", "keys")
#: Longest device label kept (browsers' labels are short; longer ones are cut).
MAX_DEVICE_CHARS = 128


def _now() -> datetime:
    return datetime.now(UTC)


class InputCalibration(Base):
    """The round trip measured for a player's input device."""

    __tablename__ = "input_calibrations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    input: Mapped[str] = mapped_column(String(16), primary_key=True)
    device: Mapped[str] = mapped_column(String(MAX_DEVICE_CHARS), primary_key=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    peak_ratio: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class KitProfileRow(Base):
    """The kit check's profile of a player's kit as one microphone hears it."""

    __tablename__ = "kit_profiles"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    device: Mapped[str] = mapped_column(String(MAX_DEVICE_CHARS), primary_key=True)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class RoomResponseRow(Base):
    """The response from the speakers to a player's microphone their last take applied."""

    __tablename__ = "room_responses"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    device: Mapped[str] = mapped_column(String(MAX_DEVICE_CHARS), primary_key=True)
    sample_rate: Mapped[int] = mapped_column(Integer)
    round_trip_s: Mapped[float] = mapped_column(Float)
    #: float32 taps, little-endian
    response: Mapped[bytes] = mapped_column(LargeBinary)
    learned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


def device_key(device: str) -> str:
    """A device label as stored: printable characters, trimmed, at most 128 characters."""
    text = "".join(ch for ch in str(device) if ch.isprintable()).strip()
    return text[:MAX_DEVICE_CHARS]


def _input(kind: str) -> str:
    if kind not in INPUT_KINDS:
        raise InputError(f"input kind {kind!r} is unknown; use one of {', '.join(INPUT_KINDS)}")
    return kind


def save_input_calibration(name: str, *, input_kind: str, device: str, latency_ms: float,
                           peak_ratio: float, url: str | None = None) -> dict[str, Any]:
    """Store (or replace) the latency measured for a player's input device; the stored row."""
    key = (name, _input(input_kind), device_key(device))
    with session_scope(url) as db:
        row = db.get(InputCalibration, key)
        if row is None:
            row = InputCalibration(name=key[0], input=key[1], device=key[2])
            db.add(row)
        row.latency_ms, row.peak_ratio = float(latency_ms), float(peak_ratio)
        row.measured_at = _now()
        return _calibration_dict(row)


def get_input_calibration(name: str, *, input_kind: str, device: str,
                          url: str | None = None) -> dict[str, Any] | None:
    """The latency stored for a player's input device, or None if it was never measured."""
    with session_scope(url) as db:
        row = db.get(InputCalibration, (name, _input(input_kind), device_key(device)))
        return None if row is None else _calibration_dict(row)


def _calibration_dict(row: InputCalibration) -> dict[str, Any]:
    return {"name": row.name, "input": row.input, "device": row.device,
            "latency_ms": float(row.latency_ms), "peak_ratio": float(row.peak_ratio),
            "measured_at": row.measured_at.isoformat()}


def save_kit_profile(name: str, *, device: str, profile: dict[str, Any],
                     url: str | None = None) -> None:
    """Store (or replace) the kit check's profile (JSON-ready) of a player's kit and microphone."""
    key = (name, device_key(device))
    with session_scope(url) as db:
        row = db.get(KitProfileRow, key)
        if row is None:
            db.add(KitProfileRow(name=key[0], device=key[1], profile=profile))
        else:
            row.profile, row.checked_at = profile, _now()


def get_kit_profile(name: str, *, device: str, url: str | None = None) -> dict[str, Any] | None:
    """The kit profile stored for a player's microphone, or None if the kit was never checked."""
    with session_scope(url) as db:
        row = db.get(KitProfileRow, (name, device_key(device)))
        return None if row is None else dict(row.profile)


def save_room_response(name: str, *, device: str, sample_rate: int, round_trip_s: float,
                       response: bytes, url: str | None = None) -> None:
    """Store (or replace) the response a player's last take with a microphone applied
    (``response``: float32 taps, little-endian)."""
    key = (name, device_key(device))
    with session_scope(url) as db:
        row = db.get(RoomResponseRow, key)
        if row is None:
            row = RoomResponseRow(name=key[0], device=key[1])
            db.add(row)
        row.sample_rate, row.round_trip_s = int(sample_rate), float(round_trip_s)
        row.response, row.learned_at = bytes(response), _now()


def get_room_response(name: str, *, device: str,
                      url: str | None = None) -> dict[str, Any] | None:
    """The response stored for a player's microphone (``sample_rate``, ``round_trip_s``,
    ``response`` bytes), or None if none was."""
    with session_scope(url) as db:
        row = db.get(RoomResponseRow, (name, device_key(device)))
        return None if row is None else {"sample_rate": int(row.sample_rate),
                                         "round_trip_s": float(row.round_trip_s),
                                         "response": bytes(row.response)}


def stored_latency_ms(name: str, *, input_kind: str = "keys", device: str = "",
                      url: str | None = None) -> float | None:
    """The latency to use for a player's input when none is given: for a microphone, the round
    trip measured by ear with that device; otherwise (or never measured) their tap-along
    latency; None if neither was ever measured."""
    from drumjam.store.sessions import get_calibration

    if input_kind == "mic":
        row = get_input_calibration(name, input_kind="mic", device=device, url=url)
        if row is not None:
            return row["latency_ms"]
    return get_calibration(name, url=url)
