"""The time-stretched backing tracks under bounds: one stretch of a (song, speed) at a time,
a bounded number at once across the server (503 past the requests let in), a bounded cache
per song, and silence that costs the stretcher nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from drumjam.library import media
from drumjam.web.app import create_app

AUDIO_URL = "/api/songs/slow-funk/audio"


class HeldStretch:
    """A stand-in for :func:`drumjam.library.media.stretch_blocks` that counts its calls and
    how many run at once, holds each until :attr:`release` is set, and passes the audio on
    unchanged."""

    def __init__(self) -> None:
        self.calls = 0
        self.running = 0
        self.most_at_once = 0
        self.started = threading.Semaphore(0)
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, blocks: Iterable[np.ndarray], sample_rate: int,
                 speed: float) -> Iterator[np.ndarray]:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.started.release()
        try:
            if not self.release.wait(30):
                raise TimeoutError("the test never released the stretch")
            yield from blocks
        finally:
            with self._lock:
                self.running -= 1


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.01)


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(home=tmp_path, max_upload_bytes=2_000_000)) as c:
        yield c


@pytest.fixture()
def held(monkeypatch: pytest.MonkeyPatch) -> HeldStretch:
    fake = HeldStretch()
    monkeypatch.setattr(media, "stretch_blocks", fake)
    return fake


def _in_threads(client: TestClient,
                speeds: list[float]) -> tuple[list[threading.Thread], dict[int, Any]]:
    answers: dict[int, Any] = {}

    def get(i: int, speed: float) -> None:
        answers[i] = client.get(AUDIO_URL, params={"speed": speed})

    threads = [threading.Thread(target=get, args=(i, s)) for i, s in enumerate(speeds)]
    return threads, answers


def test_two_requests_for_one_speed_stretch_it_once(
        client: TestClient, held: HeldStretch, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    gate = media.StretchGate(2, 4)
    monkeypatch.setattr(media, "STRETCH_GATE", gate)
    threads, answers = _in_threads(client, [0.9, 0.9])
    threads[0].start()
    assert held.started.acquire(timeout=30)  # the first request is stretching
    threads[1].start()
    _wait_until(lambda: gate.inside == 2, "the second request never came in")
    time.sleep(0.2)
    assert held.calls == 1  # the second waits for the first's copy
    held.release.set()
    for t in threads:
        t.join(30)
    assert held.calls == 1
    assert [answers[i].status_code for i in (0, 1)] == [200, 200]
    assert answers[0].content == answers[1].content and answers[0].content[:4] == b"OggS"
    made = sorted(p.name for p in tmp_path.rglob("slow-funk-*"))
    assert made == ["slow-funk-90.ogg"]  # and no copy in the making left behind
    assert gate.inside == 0


def test_stretches_past_the_bound_wait_and_requests_past_the_gate_get_503(
        client: TestClient, held: HeldStretch, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = media.StretchGate(1, 2)
    monkeypatch.setattr(media, "STRETCH_GATE", gate)
    threads, answers = _in_threads(client, [0.8, 0.9])
    threads[0].start()
    assert held.started.acquire(timeout=30)
    threads[1].start()
    _wait_until(lambda: gate.inside == 2, "the second request never came in")
    time.sleep(0.2)
    assert held.calls == 1  # 0.9 waits for the one slot
    busy = client.get(AUDIO_URL, params={"speed": 0.7})
    assert busy.status_code == 503
    assert "try again in a moment" in busy.json()["detail"]
    assert busy.headers["retry-after"] == "10"
    assert client.get(AUDIO_URL, params={"speed": 1.0}).status_code == 200  # nothing to stretch
    held.release.set()
    for t in threads:
        t.join(30)
    assert [answers[i].status_code for i in (0, 1)] == [200, 200]
    assert held.calls == 2 and held.most_at_once == 1
    # made copies are served past a full gate; the gate is free again
    assert client.get(AUDIO_URL, params={"speed": 0.7}).status_code == 200
    assert gate.inside == 0


def test_a_song_keeps_its_last_used_speeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []

    def passing(blocks: Iterable[np.ndarray], sample_rate: int,
                speed: float) -> Iterator[np.ndarray]:
        calls.append(speed)
        return iter(blocks)

    monkeypatch.setattr(media, "stretch_blocks", passing)
    monkeypatch.setattr(media, "STRETCHES_KEPT_PER_SONG", 4)
    song = tmp_path / "song.wav"
    sf.write(song, np.full((800, 2), 0.1, np.float32), 8000)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "s-120.0badc0de.tmp.ogg").write_bytes(b"a copy being made")

    def stretch(speed: float, key: str = "s") -> Path:
        return media.stretched_audio(song, speed, cache_dir=cache, key=key)

    other = stretch(0.8, key="s-2")
    for speed in (0.6, 0.7, 0.8, 0.9):
        stretch(speed)
    assert stretch(0.6) == cache / "s-60.ogg"  # used again: now the most recent
    stretch(1.1)
    assert calls == [0.8, 0.6, 0.7, 0.8, 0.9, 1.1]  # 0.6 was not stretched twice
    assert sorted(p.name for p in cache.iterdir()) == [
        "s-110.ogg", "s-120.0badc0de.tmp.ogg", "s-2-80.ogg", "s-60.ogg", "s-80.ogg", "s-90.ogg"]
    assert other.is_file()
    stretch(0.7)  # forgotten, so made again
    assert calls[-1] == 0.7 and not (cache / "s-80.ogg").exists()


def _tone(seconds: float, sr: int) -> np.ndarray:
    """A tone with a click every half second, ``(frames, 2)``."""
    t = np.arange(int(seconds * sr)) / sr
    x = 0.1 * np.sin(2 * np.pi * 220 * t)
    for k in range(int(seconds * 2)):
        x[k * sr // 2:k * sr // 2 + 40] += np.hanning(40)
    return np.stack([x, 0.8 * x], axis=1).astype(np.float32)


@pytest.mark.parametrize("speed", [0.8, 1.3])
def test_silence_is_stretched_without_the_stretcher_and_what_follows_is_not_slid(
        monkeypatch: pytest.MonkeyPatch, speed: float) -> None:
    import pedalboard

    sr = 16000
    real = pedalboard.time_stretch
    heard: list[int] = []

    def counting(audio: np.ndarray, sample_rate: int, *, stretch_factor: float) -> np.ndarray:
        heard.append(audio.shape[1])
        return real(audio, sample_rate, stretch_factor=stretch_factor)

    monkeypatch.setattr(pedalboard, "time_stretch", counting)
    # 4 s blocks: two silent with their 2 s of context (0-8 s), then three that sound (the
    # tone starts at 10 s)
    x = np.concatenate([np.zeros((10 * sr, 2), np.float32), _tone(8.0, sr)])
    blocks = [x[i:i + 4 * sr] for i in range(0, x.shape[0], 4 * sr)]
    y = np.concatenate(list(media.stretch_blocks(blocks, sr, speed)))
    assert y.shape == (round(x.shape[0] / speed), 2)
    assert len(heard) == 3  # blocks 8-12 s, 12-16 s and 16-18 s
    assert not y[:round(9.9 * sr / speed)].any()
    # the block from 8 s joins silence: it is not slid against it (it was by 10 ms, late),
    # so after the crossfade it is its segment's stretch (from 6 s) as it stands
    segment = real(x[6 * sr:14 * sr].T.copy(), sr, stretch_factor=speed).T
    join = 2 * int(media.STRETCH_JOIN_S * sr / 2)
    at, end, origin = (round(t * sr / speed) for t in (8, 12, 6))
    at += join // 2
    end -= join // 2
    assert y[at:end].any()  # the tone from 10 s
    np.testing.assert_array_equal(y[at:end], segment[at - origin:end - origin])


def test_a_silent_backing_costs_the_stretcher_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The backing of a drums-only MIDI song: silence as long as the drum part (an hour of
    it kept a core busy for about a minute)."""
    import pedalboard

    def refuse(*args: object, **kwargs: object) -> np.ndarray:
        raise AssertionError("silence went through the stretcher")

    monkeypatch.setattr(pedalboard, "time_stretch", refuse)
    sr = 8000
    minutes = (np.zeros(60 * sr, np.float32) for _ in range(30))
    media.write_ogg_blocks(tmp_path / "backing.ogg", minutes, sr, 1)
    made = media.stretched_audio(tmp_path / "backing.ogg", 0.9, cache_dir=tmp_path, key="midi")
    y, got_sr = sf.read(made, dtype="float32")
    assert got_sr == sr and y.shape == (round(30 * 60 * sr / 0.9),) and not y.any()
