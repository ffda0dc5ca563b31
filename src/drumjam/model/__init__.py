"""The data model: voices, kit maps, hits and takes, charts, beat maps."""

from drumjam.model.beatmap import SUBDIVISIONS, BeatMap, validate_times_s
from drumjam.model.events import Chart, Hit, Note, Take
from drumjam.model.kitmaps import (
    ALESIS,
    BUILTIN_KIT_MAPS,
    GENERAL_MIDI,
    ROLAND_TD,
    YAMAHA_DTX,
    KitMap,
    get_kit_map,
    load_kit_map,
)
from drumjam.model.voices import Voice, VoiceGroup, parse_voice, voice_group

__all__ = [
    "ALESIS", "BUILTIN_KIT_MAPS", "GENERAL_MIDI", "ROLAND_TD", "SUBDIVISIONS", "YAMAHA_DTX",
    "BeatMap", "Chart", "Hit", "KitMap", "Note", "Take", "Voice", "VoiceGroup",
    "get_kit_map", "load_kit_map", "parse_voice", "validate_times_s", "voice_group",
]
