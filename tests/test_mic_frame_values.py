"""Microphone frames whose float32 samples no microphone gives (NaN, infinite, 3e38) are refused
with the protocol's ``error`` reply, whole and without a numpy warning; the stream carries on
and hears exactly what it would have heard without them. Clipping-level samples (|x| up to 4
and more) are still taken, and the clipping is said to the player."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from drumjam.errors import InputError
from drumjam.session.mic import MAX_SAMPLE_ABS, decode_frame, encode_frame
from drumjam.web.app import create_app
from test_mic_web import BLOCK, SR, ZERO_FRAME, _live, _microphone, _until

STREAM_S = 6.0
BAD_AT_S = 3.0


def _float_frame(samples: np.ndarray, seq: int = 0, first_frame: int = 0) -> bytes:
    return encode_frame(np.asarray(samples, np.float32), player=0, seq=seq,
                        first_frame=first_frame, fmt="float32")


@pytest.mark.parametrize(("value", "said"), [
    (3e38, "a sample of 3e+38"), (-3e38, "a sample of -3e+38"), (np.nan, "a NaN sample"),
    (np.inf, "an infinite sample"), (-np.inf, "an infinite sample"),
    (MAX_SAMPLE_ABS * 1.01, "a sample of 16.2"),
])
def test_samples_no_microphone_gives_are_refused_by_name(value: float, said: str) -> None:
    x = np.linspace(-0.5, 0.5, 480).astype(np.float32)
    x[100] = value
    x[200] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused without a numpy warning
        with pytest.raises(InputError) as refused:
            decode_frame(_float_frame(x, seq=41))
    message = str(refused.value)
    assert message.startswith(f"microphone frame 41 of player 0 holds {said} (sample 100; 2 of 480")
    assert "within [-1, 1]" in message and "int16 (format 1)" in message


@pytest.mark.parametrize("peak", [1.0, 1.2, 4.0, -4.0, MAX_SAMPLE_ABS])
def test_clipping_level_samples_are_taken(peak: float) -> None:
    x = np.linspace(-0.5, 0.5, 480).astype(np.float32)
    x[7] = peak
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = decode_frame(_float_frame(x))
    np.testing.assert_array_equal(frame.samples, x)


def _stream(home: Path, bad: dict[int, list[float]], audio_of=_microphone) -> tuple[list[dict], list]:
    """Stream the first :data:`STREAM_S` of a take (float32 frames) into a fresh app's session;
    before the good frame starting at sample ``i``, a frame of each value in ``bad[i]`` with the
    same sequence number and first frame. Returns what came back and the warnings raised."""
    app = create_app(home=home, db_url=os.environ.get("DRUMJAM_DB_URL"), max_upload_bytes=2_000_000)
    with TestClient(app) as client, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        live = _live(client)
        audio, _ = audio_of(live["plan"])
        audio = audio[:int(STREAM_S * SR)]
        with client.websocket_connect(live["websocket"]) as ws:
            ws.send_json({"type": "mic_start", "sample_rate": SR, "timeline_zero_frame": ZERO_FRAME})
            _until(ws, "started")
            for seq, i in enumerate(range(0, audio.size, BLOCK)):
                good = audio[i:i + BLOCK]
                for value in bad.get(i, []):
                    ws.send_bytes(_float_frame(np.full_like(good, value), seq, ZERO_FRAME + i))
                ws.send_bytes(_float_frame(good, seq, ZERO_FRAME + i))
            ws.send_json({"type": "mic_end"})
            replies = _until(ws, "ended")
    numeric = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    return replies, numeric


def _judgments(replies: list[dict]) -> list[tuple]:
    return [(m["voice"], m["offset_ms"], m["judgment"]) for m in replies if m["type"] == "judgment"]


def test_bad_frames_are_refused_and_the_stream_hears_the_rest_as_without_them(tmp_path: Path) -> None:
    bad_at = int(BAD_AT_S * SR) // BLOCK * BLOCK
    clean, clean_warnings = _stream(tmp_path / "clean", {})
    spoilt, spoilt_warnings = _stream(tmp_path / "spoilt", {bad_at: [3e38, np.nan],
                                                            bad_at + 5 * BLOCK: [np.nan]})
    errors = [m for m in spoilt if m["type"] == "error"]
    assert [e["detail"].split(" (")[0] for e in errors] == [
        f"microphone frame {bad_at // BLOCK} of player 0 holds a sample of 3e+38",
        f"microphone frame {bad_at // BLOCK} of player 0 holds a NaN sample",
        f"microphone frame {bad_at // BLOCK + 5} of player 0 holds a NaN sample",
    ]
    assert not [m for m in clean if m["type"] == "error"]
    assert spoilt[-1]["status"] == "ended" and "every hit it heard is kept" in spoilt[-1]["detail"]
    assert not spoilt_warnings and not clean_warnings, spoilt_warnings + clean_warnings
    # every hit before and after the refused frames is heard and judged as without them
    heard = _judgments(spoilt)
    assert heard == _judgments(clean)
    after = [m for m in spoilt[spoilt.index(errors[-1]):] if m["type"] == "judgment"]
    assert len(after) >= 5  # hits of the audio after the bad frames


def test_a_clipping_frame_is_taken_and_the_clipping_said(tmp_path: Path) -> None:
    def clipping(plan: dict) -> tuple[np.ndarray, list]:
        audio, notes = _microphone(plan)
        return np.clip(4.0 * audio / np.abs(audio).max(), -4.0, 4.0), notes  # peaks at 4

    replies, numeric = _stream(tmp_path, {}, clipping)
    assert not [m for m in replies if m["type"] == "error"]
    said = [m["detail"] for m in replies if m["type"] == "mic_status" and m["status"] == "warning"]
    assert any("the microphone is clipping" in d for d in said), said
    assert _judgments(replies) and not numeric
