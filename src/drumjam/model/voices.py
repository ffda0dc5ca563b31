"""Drum voices and the groups that scoring compares."""

from __future__ import annotations

from enum import StrEnum


class Voice(StrEnum):
    """One sound of a drum kit (an articulation, not a MIDI note)."""

    KICK = "kick"
    SNARE = "snare"
    SNARE_RIM = "snare_rim"
    SIDE_STICK = "side_stick"
    HIHAT_CLOSED = "hihat_closed"
    HIHAT_OPEN = "hihat_open"
    HIHAT_PEDAL = "hihat_pedal"
    TOM_HIGH = "tom_high"
    TOM_MID = "tom_mid"
    TOM_FLOOR = "tom_floor"
    CRASH = "crash"
    RIDE = "ride"
    RIDE_BELL = "ride_bell"
    CHINA = "china"
    SPLASH = "splash"
    COWBELL = "cowbell"
    TAMBOURINE = "tambourine"
    CLAP = "clap"


class VoiceGroup(StrEnum):
    """What a player is expected to hit; any voice of a group may match a note of the group.

    The hi-hat pedal is a group of its own: it is played by a foot, often together with a hand
    on the hi-hat.
    """

    KICK = "kick"
    SNARE = "snare"
    HIHAT = "hihat"
    HIHAT_PEDAL = "hihat_pedal"
    TOM_HIGH = "tom_high"
    TOM_MID = "tom_mid"
    TOM_FLOOR = "tom_floor"
    CRASH = "crash"
    RIDE = "ride"
    PERCUSSION = "percussion"


VOICE_GROUP: dict[Voice, VoiceGroup] = {
    Voice.KICK: VoiceGroup.KICK,
    Voice.SNARE: VoiceGroup.SNARE,
    Voice.SNARE_RIM: VoiceGroup.SNARE,
    Voice.SIDE_STICK: VoiceGroup.SNARE,
    Voice.HIHAT_CLOSED: VoiceGroup.HIHAT,
    Voice.HIHAT_OPEN: VoiceGroup.HIHAT,
    Voice.HIHAT_PEDAL: VoiceGroup.HIHAT_PEDAL,
    Voice.TOM_HIGH: VoiceGroup.TOM_HIGH,
    Voice.TOM_MID: VoiceGroup.TOM_MID,
    Voice.TOM_FLOOR: VoiceGroup.TOM_FLOOR,
    Voice.CRASH: VoiceGroup.CRASH,
    Voice.CHINA: VoiceGroup.CRASH,
    Voice.SPLASH: VoiceGroup.CRASH,
    Voice.RIDE: VoiceGroup.RIDE,
    Voice.RIDE_BELL: VoiceGroup.RIDE,
    Voice.COWBELL: VoiceGroup.PERCUSSION,
    Voice.TAMBOURINE: VoiceGroup.PERCUSSION,
    Voice.CLAP: VoiceGroup.PERCUSSION,
}


def voice_group(voice: Voice | str) -> VoiceGroup:
    """Return the group a voice belongs to.

    Parameters
    ----------
    voice : Voice or str
        A voice or its name, e.g. ``"hihat_open"``.

    Returns
    -------
    VoiceGroup
    """
    return VOICE_GROUP[parse_voice(voice)]


def parse_voice(voice: Voice | str) -> Voice:
    """Turn a voice name into a :class:`Voice`, with an error that lists the valid names."""
    if isinstance(voice, Voice):
        return voice
    try:
        return Voice(str(voice).strip().lower())
    except ValueError:
        from drumjam.errors import InputError

        names = ", ".join(v.value for v in Voice)
        raise InputError(f"unknown drum voice {voice!r}; use one of: {names}") from None
