"""Kit maps: which MIDI note of an electronic kit is which drum voice.

Built in: General MIDI, Roland TD (as in the Groove MIDI Dataset), Alesis and Yamaha DTX
defaults. User maps are JSON files::

    {"name": "my kit", "notes": {"36": "kick", "38": "snare", "42": "hihat_closed"},
     "hihat_cc": 4, "hihat_cc_closed_value": 127}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumjam.errors import FileFormatError, InputError
from drumjam.model.voices import Voice, parse_voice

V = Voice


@dataclass(frozen=True)
class KitMap:
    """MIDI note numbers of a kit mapped to voices.

    Parameters
    ----------
    name : str
        Name of the kit or module.
    notes : dict of int to Voice
        Note number -> voice.
    hihat_cc : int or None
        Control change that reports the hi-hat pedal position (4 on most modules).
    hihat_cc_closed_value : int
        The controller value sent with the pedal fully closed (127 on Roland, Alesis, Yamaha).
    open_threshold : float or None
        Openness (0 closed .. 1 open) above which a closed hi-hat note counts as open;
        None (the default) keeps the voice the module sent.
    """

    name: str
    notes: dict[int, Voice] = field(default_factory=dict)
    hihat_cc: int | None = 4
    hihat_cc_closed_value: int = 127
    open_threshold: float | None = None

    def voice_of(self, note: int) -> Voice | None:
        """The voice of a note number, or None when the kit does not use it."""
        return self.notes.get(int(note))

    def note_of(self, voice: Voice) -> int:
        """The preferred note number for a voice (the General MIDI one where the kit has it)."""
        gm = _GM_PREFERRED.get(voice)
        if gm is not None and self.notes.get(gm) == voice:
            return gm
        for note, v in sorted(self.notes.items()):
            if v == voice:
                return note
        if gm is not None:
            return gm
        raise InputError(f"kit map {self.name!r} has no note for voice {voice.value}")

    def openness(self, cc_value: int) -> float:
        """Hi-hat openness 0..1 from a pedal controller value."""
        closed = self.hihat_cc_closed_value
        return float(abs(closed - int(cc_value)) / 127.0)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this map."""
        return {
            "name": self.name,
            "notes": {str(k): v.value for k, v in sorted(self.notes.items())},
            "hihat_cc": self.hihat_cc,
            "hihat_cc_closed_value": self.hihat_cc_closed_value,
            "open_threshold": self.open_threshold,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "kit map") -> KitMap:
        """Build a map from its JSON form, checking every note and voice."""
        if not isinstance(data, dict) or not isinstance(data.get("notes"), dict):
            raise FileFormatError(source, "kit map needs a \"notes\" object", 'e.g. {"notes": {"36": "kick"}}')
        notes: dict[int, Voice] = {}
        for key, value in data["notes"].items():
            try:
                note = int(key)
            except ValueError:
                raise FileFormatError(source, f"note {key!r} is not a number", "use 0-127") from None
            if not 0 <= note <= 127:
                raise FileFormatError(source, f"note {note} is outside 0-127")
            try:
                notes[note] = parse_voice(value)
            except InputError as exc:
                raise FileFormatError(source, str(exc)) from None
        cc = data.get("hihat_cc", 4)
        return cls(
            name=str(data.get("name", Path(source).stem)),
            notes=notes,
            hihat_cc=None if cc is None else int(cc),
            hihat_cc_closed_value=int(data.get("hihat_cc_closed_value", 127)),
            open_threshold=None if data.get("open_threshold") is None else float(data["open_threshold"]),
        )


_GM_PREFERRED: dict[Voice, int] = {
    V.KICK: 36, V.SNARE: 38, V.SNARE_RIM: 40, V.SIDE_STICK: 37, V.CLAP: 39,
    V.HIHAT_CLOSED: 42, V.HIHAT_PEDAL: 44, V.HIHAT_OPEN: 46,
    V.TOM_FLOOR: 43, V.TOM_MID: 47, V.TOM_HIGH: 50,
    V.CRASH: 49, V.RIDE: 51, V.CHINA: 52, V.RIDE_BELL: 53, V.TAMBOURINE: 54,
    V.SPLASH: 55, V.COWBELL: 56,
}

GENERAL_MIDI = KitMap(
    "General MIDI",
    {
        35: V.KICK, 36: V.KICK, 37: V.SIDE_STICK, 38: V.SNARE, 39: V.CLAP, 40: V.SNARE,
        41: V.TOM_FLOOR, 42: V.HIHAT_CLOSED, 43: V.TOM_FLOOR, 44: V.HIHAT_PEDAL,
        45: V.TOM_MID, 46: V.HIHAT_OPEN, 47: V.TOM_MID, 48: V.TOM_HIGH, 49: V.CRASH,
        50: V.TOM_HIGH, 51: V.RIDE, 52: V.CHINA, 53: V.RIDE_BELL, 54: V.TAMBOURINE,
        55: V.SPLASH, 56: V.COWBELL, 57: V.CRASH, 59: V.RIDE,
    },
    hihat_cc=None,
)

ROLAND_TD = KitMap(
    "Roland TD",
    {
        36: V.KICK, 38: V.SNARE, 40: V.SNARE_RIM, 37: V.SIDE_STICK,
        48: V.TOM_HIGH, 50: V.TOM_HIGH, 45: V.TOM_MID, 47: V.TOM_MID,
        43: V.TOM_FLOOR, 58: V.TOM_FLOOR,
        46: V.HIHAT_OPEN, 26: V.HIHAT_OPEN, 42: V.HIHAT_CLOSED, 22: V.HIHAT_CLOSED,
        44: V.HIHAT_PEDAL, 49: V.CRASH, 55: V.CRASH, 57: V.CRASH, 52: V.CRASH,
        51: V.RIDE, 59: V.RIDE, 53: V.RIDE_BELL,
    },
)

ALESIS = KitMap(
    "Alesis",
    {
        36: V.KICK, 38: V.SNARE, 40: V.SNARE_RIM, 37: V.SIDE_STICK,
        48: V.TOM_HIGH, 50: V.TOM_HIGH, 45: V.TOM_MID, 47: V.TOM_MID,
        43: V.TOM_FLOOR, 58: V.TOM_FLOOR, 41: V.TOM_FLOOR,
        46: V.HIHAT_OPEN, 42: V.HIHAT_CLOSED, 44: V.HIHAT_PEDAL,
        49: V.CRASH, 55: V.CRASH, 57: V.CRASH, 51: V.RIDE, 59: V.RIDE, 53: V.RIDE_BELL,
    },
)

YAMAHA_DTX = KitMap(
    "Yamaha DTX",
    {
        33: V.KICK, 36: V.KICK, 38: V.SNARE, 40: V.SNARE_RIM, 37: V.SIDE_STICK,
        48: V.TOM_HIGH, 50: V.TOM_HIGH, 45: V.TOM_MID, 47: V.TOM_MID,
        43: V.TOM_FLOOR, 41: V.TOM_FLOOR, 58: V.TOM_FLOOR,
        46: V.HIHAT_OPEN, 42: V.HIHAT_CLOSED, 44: V.HIHAT_PEDAL,
        49: V.CRASH, 55: V.CRASH, 57: V.CRASH, 52: V.CHINA,
        51: V.RIDE, 59: V.RIDE, 53: V.RIDE_BELL,
    },
)

BUILTIN_KIT_MAPS: dict[str, KitMap] = {
    "gm": GENERAL_MIDI,
    "roland": ROLAND_TD,
    "alesis": ALESIS,
    "yamaha": YAMAHA_DTX,
}


def load_kit_map(path: str | Path) -> KitMap:
    """Read a user kit map from a JSON file.

    Raises
    ------
    FileFormatError
        If the file is missing, not JSON, or maps a note to an unknown voice.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileFormatError(p, "no such file", "check the path") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(p, f"not valid JSON ({exc})", "see the kit map format in the docs") from None
    return KitMap.from_dict(data, source=str(p))


def get_kit_map(name_or_path: str | Path | KitMap | None) -> KitMap:
    """A built-in kit map by name (gm, roland, alesis, yamaha), a JSON file, or a KitMap.

    ``None`` gives the Roland TD map, whose notes are a superset of General MIDI's drum notes
    for the pads kits send.
    """
    if isinstance(name_or_path, KitMap):
        return name_or_path
    if name_or_path is None:
        return ROLAND_TD
    key = str(name_or_path).lower()
    if key in BUILTIN_KIT_MAPS:
        return BUILTIN_KIT_MAPS[key]
    if Path(name_or_path).suffix.lower() == ".json" or Path(name_or_path).exists():
        return load_kit_map(name_or_path)
    raise InputError(
        f"unknown kit map {name_or_path!r}; use one of {', '.join(BUILTIN_KIT_MAPS)} or a JSON file"
    )
