"""Microphone players on a local session's WebSocket.

``mic_start`` opens a :class:`~drumjam.session.mic.MicInput` for a player (with the backing
track as the session plays it, to cancel its bleed); binary frames feed it; every hit it hears
is answered with a ``judgment`` marked ``mic`` — the same verdict and running figures as a
key's. Warnings (clipping, silence, the song too loud in the microphone) and the end of a
stream come as ``mic_status``. When the stream ends — ``mic_end``, or the connection closes
because the device was unplugged or the page went away — its last hits are scored and the
session, with every hit already played, is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drumjam.errors import DrumjamError, InputError
from drumjam.io.audio import load_audio
from drumjam.scoring import HitResult
from drumjam.session.mic import MicHit, MicInput, backing_reference, decode_frame
from drumjam.web.kitcheck_routes import stored_kit
from drumjam.web.protocol import JudgmentMessage, MicStartMessage, MicStatusMessage
from drumjam.web.state import JamState, LiveEntry


@dataclass
class MicSlot:
    """A player's open microphone: its input, the hits it has answered, whether the bleed
    warning was given."""

    mic: MicInput
    count: int = 0
    bleed_warned: bool = False


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


def start_mic(state: JamState, entry: LiveEntry, msg: MicStartMessage) -> list[str]:
    """Open a player's microphone (a running one is ended first, its hits kept)."""
    replies = end_mic(entry, msg.player) if msg.player in entry.mics else []
    reference = None
    if msg.cancel_bleed:
        path = state.library.audio_at_speed(entry.song, entry.practice.speed)
        audio, _ = load_audio(path, sample_rate=msg.sample_rate)
        plan = entry.plan
        reference = backing_reference(
            audio, sample_rate=msg.sample_rate, lead_in_s=plan.lead_in_s,
            audio_start_s=plan.audio_start_s, audio_end_s=plan.audio_end_s,
            looped=plan.looped, duration_s=plan.duration_s)
    entry.mics[msg.player] = MicSlot(MicInput(entry.session, msg.player,
                                              sample_rate=msg.sample_rate,
                                              timeline_zero_frame=msg.timeline_zero_frame,
                                              reference=reference,
                                              kit=stored_kit(state, entry, msg)))
    detail = None if reference is None else "the backing track's bleed is cancelled"
    return replies + [MicStatusMessage(player=msg.player, status="started",
                                       detail=detail).model_dump_json()]


def mic_frame(entry: LiveEntry, data: bytes) -> list[str]:
    """Feed one binary frame to its player's microphone; the judgments and warnings."""
    frame = decode_frame(data)
    slot = entry.mics.get(frame.player)
    if slot is None:
        raise InputError(f"player {frame.player}'s microphone was not started; send "
                         "'mic_start' before its audio")
    heard, warnings = slot.mic.feed(frame)
    replies = _judgments(slot, entry, frame.player, heard)
    report = slot.mic.bleed()
    if report is not None and report.too_strong and not slot.bleed_warned:
        slot.bleed_warned = True
        warnings.append(report.message)
    return replies + [MicStatusMessage(player=frame.player, status="warning", detail=w,
                                       bleed=None if report is None else report.to_dict()
                                       ).model_dump_json() for w in warnings]


def end_mic(entry: LiveEntry, player: int) -> list[str]:
    """End a player's microphone stream: its last hits scored, the session kept."""
    slot = entry.mics.pop(player, None)
    if slot is None:
        return []
    try:
        heard = slot.mic.end()
    except DrumjamError as exc:  # e.g. the hit limit: what was played is kept
        return [MicStatusMessage(player=player, status="ended", detail=str(exc)).model_dump_json()]
    report = slot.mic.bleed()
    return _judgments(slot, entry, player, heard) + [MicStatusMessage(
        player=player, status="ended", detail="the microphone stopped; every hit it heard is kept",
        bleed=None if report is None else report.to_dict()).model_dump_json()]


def end_all(entry: LiveEntry) -> None:
    """The connection closed: end every microphone of the session (hits kept)."""
    for player in list(entry.mics):
        end_mic(entry, player)


def _judgments(slot: MicSlot, entry: LiveEntry, player: int, heard: list[MicHit]) -> list[str]:
    out = []
    for h in heard:
        out.append(judgment_message(entry, seq=slot.count, player=player,
                                    voice=h.hit.voice.value, result=h.result, mic=True))
        slot.count += 1
    return out

