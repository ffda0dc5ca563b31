"""The jam app's wire protocol: every WebSocket message and every JSON body, as Pydantic models.

One set of messages serves local sessions (``/ws/sessions/{live_id}``) and remote-duet rooms
(``/api/rooms/ws``), with one error shape. Every number is finite and bounded, integers are
never booleans, strings and lists are bounded, and the unit is in the field name (``time_s``,
``offset_ms``). A message that breaks any rule gets an :class:`ErrorMessage` reply naming the
field and the fix; the connection, the session and the partner carry on.

``docs/protocol.md`` is written from these models by :func:`protocol_markdown`
(``python -m drumjam.web.protocol > docs/protocol.md``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from drumjam.errors import InputError
from drumjam.library.catalogue import MAX_BEAT_OFFSET_MS
from drumjam.model import parse_voice
from drumjam.session.live import MAX_HITS_PER_PLAYER, MAX_LATENCY_MS
from drumjam.session.mic import MAX_SAMPLE_ABS

#: Longest WebSocket message accepted, in characters.
MAX_MESSAGE_CHARS = 4096
#: Deepest nesting of arrays and objects accepted in any JSON (messages and bodies).
MAX_JSON_DEPTH = 32
#: Longest timeline accepted, in seconds (hits, clicks and taps lie within ±this).
MAX_TIME_S = 4 * 3600.0
#: Longest text of a refused request shown back in its 422 answer.
MAX_SHOWN_CHARS = 200
#: Largest clock reading accepted in ms (the server's monotonic clock or the browser's epoch).
MAX_CLOCK_MS = 1e16

Name = Annotated[str, Field(max_length=200)]
Code = Annotated[str, Field(max_length=64)]
Seconds = Annotated[float, Field(ge=-MAX_TIME_S, le=MAX_TIME_S)]
ClockMs = Annotated[float, Field(ge=-MAX_CLOCK_MS, le=MAX_CLOCK_MS)]
LatencyMs = Annotated[float, Field(ge=-MAX_LATENCY_MS, le=MAX_LATENCY_MS)]
Velocity = Annotated[int, Field(ge=1, le=127)]
Seq = Annotated[int, Field(ge=0, lt=MAX_HITS_PER_PLAYER)]
#: An input device's label as the browser names it (e.g. a microphone's).
Device = Annotated[str, Field(max_length=128)]


class Strict(BaseModel):
    """Base of every message and body: strict types, finite numbers, no unknown fields."""

    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="forbid")


class _Voiced(Strict):
    voice: str = Field(max_length=32, description="A drum voice name, e.g. ``snare``.")

    @field_validator("voice")
    @classmethod
    def _known_voice(cls, value: str) -> str:
        return parse_voice(value).value


# ---------------------------------------------------------------- browser -> server
class HelloMessage(Strict):
    """Rooms: the first message of a connection, with the join code and the player's token."""

    type: Literal["hello"]
    code: Code
    token: Code


class PingMessage(Strict):
    """Rooms: a clock-sync probe sent at ``t0_ms`` on the browser's clock."""

    type: Literal["ping"]
    t0_ms: ClockMs


class HitMessage(_Voiced):
    """One hit. ``time_s`` is on the session's timeline: the practice timeline of a local
    session (its lead-in bar first), or the song's time in a room (0 = the song's start on the
    shared clock; negative before it; a time more than a second before the start command or a
    minute after the song's end is refused: the page's clock is off). Latency is removed by
    the server."""

    type: Literal["hit"]
    seq: Seq
    player: int = Field(default=0, ge=0, le=1, description="0 or 1 (local duets); 0 in rooms.")
    time_s: Seconds
    velocity: Velocity = 100
    openness: float | None = Field(default=None, ge=0.0, le=1.0,
                                   description="Hi-hat openness, 0 (closed) to 1 (open).")


class FinishMessage(Strict):
    """Local sessions: the song is over, or the player stopped at ``stop_s`` on the timeline
    (notes after it are not counted missed); score and save it (again: the same result)."""

    type: Literal["finish"]
    stop_s: Seconds | None = None


class SettingsMessage(Strict):
    """Rooms: a player's latency and own backing-track delay (before the start)."""

    type: Literal["settings"]
    calibration_ms: LatencyMs | None = None
    track_delay_ms: LatencyMs | None = None


class StatusMessage(Strict):
    """Rooms: the sender's round-trip time, passed on to the partner."""

    type: Literal["status"]
    rtt_ms: Annotated[float, Field(ge=0.0, le=600000.0)]


class StartMessage(Strict):
    """Rooms: start the song (both players get the same ``start_ms``)."""

    type: Literal["start"]


class MicStartMessage(Strict):
    """A player's microphone starts streaming; binary frames follow (see
    :mod:`drumjam.session.mic`). ``timeline_zero_frame`` is the audio-clock frame at which the
    timeline (a local session's, or a room's as this player hears it) is 0 s; ``click`` and
    ``count_in_bars`` say which clicks the page plays, to cancel them with the backing track.
    In a room the connection says who plays and ``player`` is not used."""

    type: Literal["mic_start"]
    player: int = Field(default=0, ge=0, le=1)
    sample_rate: int = Field(ge=8000, le=192000)
    timeline_zero_frame: int = Field(ge=-2**53, le=2**53)
    cancel_bleed: bool = Field(default=True, description="Cancel the backing track's and the "
                               "clicks' bleed.")
    click: bool = Field(default=True, description="The song's beats click (the count-in "
                        "always does).")
    count_in_bars: int = Field(default=1, ge=0, le=8)
    #: The microphone's label: the kit check stored for the player and this device adapts
    #: the transcription to their kit.
    device: Device = ""
    room_pair: bool = Field(default=False, description="Local sessions: the two microphone "
                            "players are in one room, each microphone hearing both kits; each "
                            "hit is attributed to the kit it came from (the room check stored "
                            "for both players is needed).")


class MicEndMessage(Strict):
    """A player's microphone stopped (or was unplugged)."""

    type: Literal["mic_end"]
    player: int = Field(default=0, ge=0, le=1)


class ClockMessage(Strict):
    """A device joined to a local session: one clock-sync round trip, ``t0_ms``/``t3_ms`` on
    the device's audio clock (the ping left, the ``pong`` came back), ``t1_ms``/``t2_ms`` the
    server's stamps from the ``pong``."""

    type: Literal["clock"]
    t0_ms: ClockMs
    t1_ms: ClockMs
    t2_ms: ClockMs
    t3_ms: ClockMs


class SeatMessage(Strict):
    """A device joined to a local session: its microphone's label and the round trip measured
    by ear there; the host also sends the two players' names and its sample rate."""

    type: Literal["seat"]
    device: Device = ""
    latency_ms: LatencyMs | None = None
    names: list[Name] | None = Field(default=None, min_length=2, max_length=2)
    sample_rate: int | None = Field(default=None, ge=8000, le=192000,
                                    description="The host's audio sample rate (the joined "
                                    "device captures at it).")


class RoomCheckMessage(Strict):
    """A device joined to a local session: start the room check of ``player``'s kit (both
    devices record their microphone for its seconds and send the recording as one binary
    frame)."""

    type: Literal["room_check"]
    player: int = Field(ge=0, le=1)


ClientMessage = Annotated[
    HelloMessage | PingMessage | HitMessage | FinishMessage | SettingsMessage | StatusMessage
    | StartMessage | MicStartMessage | MicEndMessage | ClockMessage | SeatMessage
    | RoomCheckMessage,
    Field(discriminator="type"),
]
_CLIENT = TypeAdapter(ClientMessage)


# ---------------------------------------------------------------- server -> browser
class ErrorMessage(BaseModel):
    """The answer to a message that could not be honoured; nothing else changes."""

    type: Literal["error"] = "error"
    seq: int | None = Field(default=None, description="The refused hit's ``seq``, if any.")
    detail: str


class RunningFigures(BaseModel):
    """A player's live figures: hits so far; the accuracy so far as the results define it
    (judgment-weighted share of the notes up to the latest hit and the extra hits, %); the
    share of hits on a note (%) and their mean |offset|."""

    hits: int
    accuracy_pct: float | None
    on_time_pct: float | None
    mean_abs_offset_ms: float | None


class DuetFigures(BaseModel):
    """Two players' live figures: notes both hit, mean asynchrony A - B, share within 20 ms."""

    pairs: int
    mean_async_ms: float | None
    within_20ms_pct: float | None


class JudgmentMessage(BaseModel):
    """The answer to every hit: its verdict (``judgment`` null for a duplicate, a count-in tap
    or a hit after the song). Times are on the timeline the hit was sent on."""

    type: Literal["judgment"] = "judgment"
    seq: int
    player: int
    duplicate: bool = False
    voice: str | None = None
    time_s: float | None = Field(default=None, description="Hit time, latency removed.")
    target_time_s: float | None = None
    offset_ms: float | None = None
    judgment: str | None = None
    running: RunningFigures | None = None
    duet: DuetFigures | None = None
    mic: bool = Field(default=False, description="A hit the microphone heard (``seq`` counts "
                                                 "them per player).")


class MicStatusMessage(BaseModel):
    """The state of a player's microphone: started, ended (hits kept), a
    warning (clipping, silence, the song too loud in it) in ``detail``."""

    type: Literal["mic_status"] = "mic_status"
    player: int
    status: Literal["started", "warning", "ended"]
    detail: str | None = None
    bleed: dict[str, Any] | None = Field(default=None, description="How loud the song is in "
                                         "the microphone (``bleed_db``, ``residual_db``) "
                                         "and how far its stream slipped (``slip_ms``).")


class ResultMessage(BaseModel):
    """Local sessions: the saved session's history id and summary."""

    type: Literal["result"] = "result"
    session_id: int
    summary: str


class PongMessage(BaseModel):
    """Rooms: ``t0_ms`` echoed, ``t1_ms`` when the ping arrived and ``t2_ms`` when the pong
    left, on the server clock."""

    type: Literal["pong"] = "pong"
    t0_ms: float
    t1_ms: float
    t2_ms: float


class PartnerHitMessage(BaseModel):
    """Rooms: the partner's hit, to be sounded (``time_s`` on the song's timeline)."""

    type: Literal["partner_hit"] = "partner_hit"
    voice: str
    velocity: int
    time_s: float


class PartnerStatusMessage(BaseModel):
    """Rooms: the partner's round-trip time."""

    type: Literal["partner_status"] = "partner_status"
    rtt_ms: float


class SettingsReply(BaseModel):
    """Rooms: the sender's settings as the server keeps them."""

    type: Literal["settings"] = "settings"
    calibration_ms: float
    track_delay_ms: float


class StartReply(BaseModel):
    """Rooms: the song's first beat on the server clock (ms)."""

    type: Literal["start"] = "start"
    start_ms: float
    room: dict[str, Any]


class PartnerMessage(BaseModel):
    """Rooms: the partner came or went."""

    type: Literal["partner"] = "partner"
    status: Literal["connected", "disconnected"]
    room: dict[str, Any]


class WelcomeMessage(BaseModel):
    """Rooms: the answer to ``hello``: the room, the server clock, hits already received."""

    type: Literal["welcome"] = "welcome"
    seat: str
    room: dict[str, Any]
    server_ms: float
    received_seqs: list[int]
    settings: dict[str, float]
    song: dict[str, Any]


class EndMessage(BaseModel):
    """Rooms: the room ended; its result (and its history id when it was saved)."""

    type: Literal["end"] = "end"
    result: dict[str, Any]


class JoinWelcomeMessage(BaseModel):
    """A device joined to a local session: the answer to ``hello``: its seat (0: the host,
    1: the joined device, which plays player 2), the token that lets it join again, the
    players' names and the host's audio sample rate (the joined device captures at it)."""

    type: Literal["join_welcome"] = "join_welcome"
    seat: int
    token: str
    names: list[str]
    sample_rate: int | None
    partner: bool = Field(description="Whether the other device is connected.")


class ClockStatusMessage(BaseModel):
    """A device joined to a local session: how far its audio clock is mapped to the shared one
    (``synced`` once enough round trips were measured)."""

    type: Literal["clock_status"] = "clock_status"
    seat: int
    synced: bool
    samples: int
    needed: int
    spread_ms: float
    rtt_ms: float


class JoinPartnerMessage(BaseModel):
    """A device joined to a local session: the other device came, went or changed its set-up."""

    type: Literal["join_partner"] = "join_partner"
    status: Literal["connected", "disconnected", "updated"]
    names: list[str]
    device: str = ""
    latency_ms: float | None = None
    synced: bool = False


class RoomCheckStartMessage(BaseModel):
    """A device joined to a local session: record the microphone now for ``seconds`` (the
    room check of ``player``'s kit) and send it as one binary frame."""

    type: Literal["room_check"] = "room_check"
    player: int
    name: str
    seconds: float


class RoomCheckedMessage(BaseModel):
    """A device joined to a local session: the room check of ``player``'s kit, stored
    (``room``), or why not (``detail``)."""

    type: Literal["room_checked"] = "room_checked"
    player: int
    room: dict[str, Any] | None = None
    detail: str | None = None


class RunMessage(BaseModel):
    """A device joined to a local session: the host started the song. Song time 0 is heard
    at ``zero_server_ms`` on the server clock; the joined device shows ``player``'s lanes
    and streams its microphone (the song plays from the host's speakers only)."""

    type: Literal["run"] = "run"
    player: int
    names: list[str]
    zero_server_ms: float
    sample_rate: int
    plan: dict[str, Any]
    count_in_bars: int
    click: bool


class JoinEndMessage(BaseModel):
    """A device joined to a local session: the run ended (``session_id`` of its results, or
    none when it was stopped or failed), or the host closed the link (``closed``)."""

    type: Literal["join_end"] = "join_end"
    session_id: int | None = None
    detail: str
    closed: bool = False


SERVER_MESSAGES = (ErrorMessage, JudgmentMessage, MicStatusMessage, ResultMessage, PongMessage, PartnerHitMessage,
                   PartnerStatusMessage, SettingsReply, StartReply, PartnerMessage,
                   WelcomeMessage, EndMessage, JoinWelcomeMessage, ClockStatusMessage,
                   JoinPartnerMessage, RoomCheckStartMessage, RoomCheckedMessage, RunMessage,
                   JoinEndMessage)
CLIENT_MESSAGES = (HelloMessage, PingMessage, HitMessage, FinishMessage, SettingsMessage,
                   StatusMessage, StartMessage, MicStartMessage, MicEndMessage, ClockMessage,
                   SeatMessage, RoomCheckMessage)


# ---------------------------------------------------------------- HTTP bodies
class PlayerIn(Strict):
    """A player joining a session; without ``latency_ms`` their stored calibration is used:
    for a microphone, the round trip measured by ear with that ``device`` (else their
    tap-along latency)."""

    name: Name = ""
    latency_ms: LatencyMs | None = None
    input: Literal["keys", "midi", "mic"] = "keys"
    device: Device = ""


class LoopIn(Strict):
    """Bars to loop (0-based, inclusive) and how often."""

    first_bar: int = Field(ge=0, le=10000)
    last_bar: int = Field(ge=0, le=10000)
    repeats: int = Field(default=4, ge=1, le=64)


class SessionIn(Strict):
    """What to play and how."""

    song_id: Code
    players: list[PlayerIn] = Field(min_length=1, max_length=2)
    speed: float = Field(default=1.0, ge=0.5, le=1.5)
    loop: LoopIn | None = None
    #: Play an added audio song against its own drum part (transcribed from the mix), not its grid.
    drum_part: bool = False
    #: Player 2 plays on another device joined by this link (two kits in one room).
    join: JoinKeyIn | None = None


class JoinKeyIn(Strict):
    """A join link's code and the host's token (``POST /api/joins``)."""

    code: Code
    token: Code


class CreateRoomIn(Strict):
    """A room for a song; ``name`` is the creator's."""

    song_id: Code
    name: Name = ""


class JoinRoomIn(Strict):
    """Seat B of the room with this join code."""

    code: Code
    name: Name = ""


class RoomKeyIn(Strict):
    """A room's join code and (for its result) a player's token."""

    code: Code
    token: Code = ""


class CalibrationIn(Strict):
    """Click times and tap times, both in seconds on the browser's audio clock."""

    name: Name = ""
    clicks_s: list[Seconds] = Field(min_length=4, max_length=256)
    taps_s: list[Seconds] = Field(max_length=512)


class InputCalibrationOut(BaseModel):
    """The latency stored for a player's input device (``latency_ms`` null: never measured)."""

    name: str
    input: Literal["keys", "midi", "mic"]
    device: str
    latency_ms: float | None
    #: How clearly the microphone heard the clicks (the correlation peak over its background).
    peak_ratio: float | None = None
    measured_at: str | None = None


class KitCheckOut(BaseModel):
    """A player's kit as their microphone hears it, from the kit check (``checked`` false:
    never checked). ``confused`` lists the pairs of drums drumjam cannot tell apart."""

    name: str
    device: str
    checked: bool
    stored: bool = False
    voices: list[str] = Field(default_factory=list)
    input_gain_db: float | None = None
    peak_dbfs: float | None = None
    clipped: bool = False
    thresholds: dict[str, float] = Field(default_factory=dict)
    classes: dict[str, list[str]] = Field(default_factory=dict)
    confused: list[list[str]] = Field(default_factory=list)
    strokes: dict[str, int] = Field(default_factory=dict)
    not_heard: list[str] = Field(default_factory=list)
    messages: list[str] = Field(default_factory=list)
    room: RoomCheckOut | None = Field(default=None, description="The room check stored for the "
                                      "player's kit (two kits in one room), if any.")


class RoomCheckOut(BaseModel):
    """How a player's kit sounds in the other microphone of the room (the room check): how
    much later (``delay_ms``) and louder (``gain_db``, negative: quieter) than in their own."""

    partner_device: str = ""
    delay_ms: float
    gain_db: float
    spread_db: float
    hits: int
    clipped: bool = False


class BeatmapCorrectionIn(Strict):
    """A correction of an added song's analysed beat map, by ear."""

    tempo: Literal["double", "half"] | None = None
    meter: int | None = Field(default=None, ge=2, le=12)
    downbeat_shift: int = Field(default=0, ge=-12, le=12)
    offset_ms: float = Field(default=0.0, ge=-MAX_BEAT_OFFSET_MS, le=MAX_BEAT_OFFSET_MS)
    reset: bool = False


class LessonHitIn(_Voiced):
    """A hit as the lessons page records it: seconds from the first beat (negative before)."""

    time_s: Seconds
    velocity: Velocity = 100


Trainer = Annotated[dict[str, float | int | bool], Field(max_length=16)]
Hits = Annotated[list[LessonHitIn], Field(max_length=MAX_HITS_PER_PLAYER)]


class RecordedTakeIn(Strict):
    """A teacher's take recorded in the app against a click."""

    name: Name
    tempo_bpm: float = Field(gt=0, le=400)
    meter: int = Field(default=4, ge=1, le=16)
    bars: Annotated[str, Field(max_length=64)] | None = None
    hits: Hits
    trainer: Trainer = Field(default_factory=dict)


class FromSessionIn(Strict):
    """A take of a saved jam session (by player number, from 0) to teach."""

    name: Name
    session_id: int = Field(ge=1, le=2**53)
    player: int = Field(default=0, ge=0, le=1)
    bars: Annotated[str, Field(max_length=64)] | None = None
    trainer: Trainer = Field(default_factory=dict)


class AttemptIn(Strict):
    """A student's attempt recorded in the app against the trainer's click (``loops``: how
    many loops the recorder asked for, from the first beat)."""

    student: Name
    tempo_bpm: float | None = Field(default=None, gt=0, le=400)
    loops: int | None = Field(default=None, ge=1, le=1000)
    hits: Hits
    #: The student's input + output latency, removed from every hit; by default the latency
    #: stored when they calibrated in the jam app (none: 0).
    latency_ms: LatencyMs | None = None


class RenameIn(Strict):
    """A lesson's new name."""

    name: Name


# ---------------------------------------------------------------- HTTP error answers
class ErrorBody(BaseModel):
    """Every refused HTTP request: what was wrong and how to fix it."""

    detail: str


_ERROR_TEXT = {
    400: "A value or a file the request carries cannot be used (the detail says which and why).",
    403: "Sent by a page of another site.",
    404: "Nothing has this id or name.",
    409: "In conflict with the present state (e.g. a name taken at the same moment).",
    413: "The request body is larger than the limit.",
    429: "Too many requests of this kind from this address; see Retry-After.",
    503: "Every slot is in use; try again in a few minutes.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting the error answers ``codes`` of a route or router."""
    return {code: {"model": ErrorBody, "description": _ERROR_TEXT[code]} for code in codes}


def refused_detail(errors: Sequence[Any]) -> list[Any]:
    """The ``detail`` of a 422 answer: FastAPI's list of refusals (``loc`` naming the field,
    ``msg``, the ``input`` given), each value as strict JSON can carry it.

    A body may hold what JSON cannot answer with: NaN, Infinity or ``1e400`` (read as
    infinity) are shown as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, text
    holding a lone UTF-16 surrogate with it escaped (``"\\ud800"``), and text longer than
    :data:`MAX_SHOWN_CHARS` (a file's contents sent as a form field) cut short.
    """
    return [_json_safe(e) for e in jsonable_encoder(errors)]


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, str):
        shown = value if len(value) <= MAX_SHOWN_CHARS else value[:MAX_SHOWN_CHARS] + "…"
        return shown.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_json_safe(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


# ---------------------------------------------------------------- parsing
def json_depth_ok(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects of a JSON text nest at most ``max_depth`` deep.

    A linear scan that skips strings, run before any parser recurses into the text.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    depth = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > max_depth:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def describe(error: ValidationError) -> str:
    """One line naming each bad field, what was wrong and the value given."""
    parts = []
    for e in error.errors(include_url=False)[:3]:
        where = ".".join(str(p) for p in e["loc"]) or "message"
        given = e.get("input")
        shown = json.dumps(given)[:40] if isinstance(given, (int, float, str, bool, type(None))) else None
        parts.append(f"{where}: {e['msg']}" + (f" (got {shown})" if shown is not None else ""))
    return "; ".join(parts)


def parse_message(text: str) -> HelloMessage | PingMessage | HitMessage | FinishMessage \
        | SettingsMessage | StatusMessage | StartMessage | MicStartMessage | MicEndMessage \
        | ClockMessage | SeatMessage | RoomCheckMessage:
    """Validate one WebSocket text message.

    Raises
    ------
    InputError
        Too long, too deep, not JSON, an unknown type or any field out of bounds; the message
        says which and how to fix it.
    """
    if len(text) > MAX_MESSAGE_CHARS:
        raise InputError(f"message of {len(text)} characters is too long (at most {MAX_MESSAGE_CHARS})")
    if not json_depth_ok(text):
        raise InputError(f"message nests deeper than {MAX_JSON_DEPTH} levels; send a flat object")
    try:
        return _CLIENT.validate_json(text)
    except ValidationError as exc:
        invalid = next((e for e in exc.errors() if e["type"] == "json_invalid"), None)
        if invalid is not None:
            raise InputError(_not_json(invalid.get("ctx", {}).get("error", ""))) from None
        if any(e["type"] in ("union_tag_invalid", "union_tag_not_found", "dict_type")
               for e in exc.errors()):
            names = ", ".join(m.model_fields["type"].annotation.__args__[0] for m in CLIENT_MESSAGES)
            raise InputError(f"message must be a JSON object with a 'type' among: {names}") from None
        raise InputError(describe(exc)) from None


def _not_json(error: str) -> str:
    """Why a message is not JSON, from the parser's ``error`` (e.g. ``expected value at line
    1 column 1``), with the fix."""
    if "hex escape" in error:  # the parser's words for a surrogate escape without its pair
        return (f"message is not JSON: a string holds a lone UTF-16 surrogate (an escape "
                f"\\ud800-\\udfff without its pair; {error}); send whole Unicode characters")
    return f"message is not JSON ({error}); send one JSON object"


def seq_of(text: str) -> int | None:
    """The ``seq`` of a refused message, if one can be read safely (for the error reply)."""
    if len(text) > MAX_MESSAGE_CHARS or not json_depth_ok(text):
        return None
    try:
        seq = json.loads(text).get("seq")
    except (ValueError, AttributeError):
        return None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < 2**31 else None


def protocol_markdown() -> str:
    """docs/protocol.md: every message and body with its fields, types and bounds."""
    lines = [
        "# drumjam wire protocol",
        "",
        "Generated from `drumjam.web.protocol` (`python -m drumjam.web.protocol > docs/protocol.md`).",
        "",
        "Every WebSocket message is one JSON object of at most "
        f"{MAX_MESSAGE_CHARS} characters, nested at most {MAX_JSON_DEPTH} deep, with a `type`. "
        "Numbers are finite (NaN, Infinity and out-of-bounds values are refused), integers are "
        "never booleans, unknown fields are refused. A refused message is answered with an "
        "`error` message (`seq` of the refused hit, `detail` naming the field and the fix); the "
        "connection, the session and the partner carry on. A binary frame is answered the same "
        "way, except a local session's microphone frames after `mic_start` (a 16-byte header "
        "`<2sBBIq`: `DJ`, format 1 = int16 or 2 = float32, player, sequence number, audio-clock "
        "frame of the first sample; then mono little-endian samples). A float32 frame's samples "
        f"must be finite and within ±{MAX_SAMPLE_ABS:g} (a microphone's lie within [-1, 1]); a "
        "frame holding any other is refused whole with an `error` message, and the stream "
        "carries on. Times: `*_s` seconds, `*_ms` milliseconds.",
        "",
        "Local sessions (`/ws/sessions/{live_id}`) take `hit`, `finish`, `mic_start` and "
        "`mic_end`; rooms "
        "(`/api/rooms/ws`) take `hello` first, then `ping`, `hit`, `settings`, `status`, `start`; "
        "a device joined to a local session (`/ws/joins`) takes `hello` first, then `ping`, "
        "`clock`, `seat`, `room_check`, `mic_start` and `mic_end` (its microphone's frames and "
        "its room check recordings as binary frames).",
        "",
        "HTTP bodies follow the same rules; a refused body is answered 422, a body larger than "
        "the limit 413 (checked while it streams), deeper than the limit 400.",
        "",
    ]
    for title, models in (("Browser to server", CLIENT_MESSAGES), ("Server to browser", SERVER_MESSAGES),
                          ("HTTP bodies", (PlayerIn, LoopIn, SessionIn, JoinKeyIn, CreateRoomIn, JoinRoomIn,
                                           RoomKeyIn, CalibrationIn, BeatmapCorrectionIn,
                                           LessonHitIn, RecordedTakeIn, FromSessionIn, AttemptIn,
                                           RenameIn))):
        lines += [f"## {title}", ""]
        for model in models:
            lines += _model_markdown(model)
    return "\n".join(lines)


def _model_markdown(model: type[BaseModel]) -> list[str]:
    doc = " ".join((model.__doc__ or "").split())
    out = [f"### `{model.__name__}`", "", doc, "", "| field | type | bounds | default |",
           "|---|---|---|---|"]
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        kind = _type_text(prop)
        for option in prop.get("anyOf", []):
            prop = {**option, **prop}
        bounds = ", ".join(f"{k} {prop[k]}" for k in ("minimum", "exclusiveMinimum", "maximum",
                                                      "exclusiveMaximum", "maxLength", "minItems",
                                                      "maxItems") if k in prop)
        if "const" in prop:
            bounds = f"`{prop['const']}`"
        default = "required" if name in required else json.dumps(prop.get("default"))
        out.append(f"| `{name}` | {kind} | {bounds} | {default} |")
    return out + [""]


def _type_text(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " or ".join(_type_text(p) for p in prop["anyOf"])
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if prop.get("type") == "array":
        return f"list of {_type_text(prop.get('items', {}))}"
    return str(prop.get("type", "any"))


if __name__ == "__main__":
    print(protocol_markdown())
