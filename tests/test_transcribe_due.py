"""Score-informed peak picking with known answers: synthetic onset probabilities where the
chart says which drums are due."""

from __future__ import annotations

import numpy as np
import pytest

from drumjam.analysis import drumnet
from drumjam.analysis.transcribe import (
    EXPECTED_THRESHOLD_SCALE, DrumTranscriber, expected_frames, pick_strokes,
)
from drumjam.errors import InputError
from drumjam.model import Voice

C = {v: i for i, v in enumerate(drumnet.CLASSES)}
THRESHOLDS = np.full(len(C), 0.4, np.float32)
ROW = 10


def _onset(**peaks: tuple[int, float]) -> np.ndarray:
    """20 frames of silence with a triangular peak per class (name=(row, height))."""
    onset = np.zeros((20, len(C)), np.float32)
    for name, (row, height) in peaks.items():
        onset[row - 2:row + 3, C[Voice(name)]] = height * np.array([0.2, 0.5, 1.0, 0.5, 0.2])
    return onset


def _picked(onset: np.ndarray, due_classes: tuple[str, ...] = ()) -> list[tuple[int, str]]:
    rows = np.arange(2, onset.shape[0] - 2)
    due = np.zeros((rows.size, len(C)), bool)
    for name in due_classes:
        due[:, C[Voice(name)]] = np.abs(rows - ROW) <= 5
    r, c, _ = pick_strokes(onset, rows, THRESHOLDS, due if due_classes else None)
    return sorted((int(a), drumnet.CLASSES[b].value) for a, b in zip(r, c))


def test_a_soft_stroke_alone_is_heard_where_it_is_due() -> None:
    soft = _onset(hihat_closed=(ROW, 0.25))
    assert 0.25 >= EXPECTED_THRESHOLD_SCALE * 0.4
    assert _picked(soft) == []
    assert _picked(soft, ("hihat_closed",)) == [(ROW, "hihat_closed")]
    assert _picked(soft, ("snare",)) == []  # another drum due: nothing lowered for the hi-hat


def test_cross_talk_of_another_drum_is_not_credited() -> None:
    # a loud kick whose hi-hat response is that of a soft hi-hat: the hi-hat due is not heard
    onset = _onset(kick=(ROW, 0.9), hihat_closed=(ROW, 0.3))
    assert _picked(onset, ("hihat_closed", "kick")) == [(ROW, "kick")]


def test_a_pedal_under_a_stick_stroke_is_heard_when_both_are_due() -> None:
    onset = _onset(hihat_pedal=(ROW, 0.45), hihat_closed=(ROW + 1, 0.55))
    assert _picked(onset) == [(ROW + 1, "hihat_closed")]
    assert _picked(onset, ("hihat_closed", "hihat_pedal")) == [
        (ROW, "hihat_pedal"), (ROW + 1, "hihat_closed")]
    assert _picked(onset, ("hihat_closed",)) == [(ROW + 1, "hihat_closed")]


def test_expected_notes_are_checked() -> None:
    frames = expected_frames([(1.0, "snare"), (0.5, Voice.SIDE_STICK)], np.zeros(len(C)))
    # a snare note is due for both classes of its voice group, in frames, sorted
    assert set(frames) == {C[Voice.SNARE], C[Voice.SIDE_STICK]}
    np.testing.assert_allclose(frames[C[Voice.SNARE]], [0.5 * drumnet.FPS, 1.0 * drumnet.FPS])
    with pytest.raises(InputError, match="not a number of seconds"):
        DrumTranscriber(sample_rate=48000, expected=[(float("nan"), "kick")])
    with pytest.raises(InputError, match="unknown drum voice"):
        DrumTranscriber(sample_rate=48000, expected=[(1.0, "gong")])


def test_notes_due_are_heard_as_late_as_the_capture_slipped() -> None:
    """A capture that slipped 0.2 s into the stream (a microphone's, found from the song's
    bleed): the notes due after it are listened for that much later, those before it where
    they were given."""
    slipped_s = 0.02
    tr = DrumTranscriber(sample_rate=48000, expected=[(0.1, "snare"), (1.0, "snare")],
                         expected_late=lambda t_s: slipped_s if t_s >= 0.2 else 0.0)
    reach = 0.05 * drumnet.FPS  # EXPECTED_WINDOW_S either side

    def due_from(t_s: float) -> np.ndarray:
        frames = np.arange(round(t_s * drumnet.FPS), round((t_s + 0.2) * drumnet.FPS))
        return frames[tr._due(frames)[:, C[Voice.SNARE]]] / drumnet.FPS

    offset_s = float(drumnet.bundled_weights()["offset_s"][C[Voice.SNARE]])
    for note_s, late_s in ((0.1, 0.0), (1.0, slipped_s)):
        due = due_from(note_s - 0.1)
        at = note_s + offset_s + late_s
        assert due.min() == pytest.approx(at - reach / drumnet.FPS, abs=1.01 / drumnet.FPS)
        assert due.max() == pytest.approx(at + reach / drumnet.FPS, abs=1.01 / drumnet.FPS)
