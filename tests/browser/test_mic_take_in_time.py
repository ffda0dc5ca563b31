"""A take with a known offset through Chromium's microphone, the song's bleed mixed in.

Chromium's fake capture device plays a WAV from the moment the page opens the microphone, so
where the file lies on the audio clock is known only once it is heard. The file starts with a
marker (a 2 ms burst, 0.2 s in, then silence); the test watches the page's own capture frames
(an observer added to its AudioWorklet node, the page's code untouched), holds the session's
creation until the marker is heard, and starts the song so that song time 0 falls 5 s into the
file (the page's song clock anchored there instead of "now + 0.15 s": everything else is the
page's own path). The rest of the file is what a microphone 1.5 m from the speakers would
hear: the slow funk's first two bars, twice, played 30 ms late on the AVL Black Pearl kit, with
the backing track and the clicks as the page plays them, through a room.

The live marks and the saved results must report the take's 30 ms within 5 ms, and every
note but soft hi-hats and snares under the song's bleed must be matched (the kit checked first,
as in ``tests/test_mic_web.py``, and the round trip measured by ear through the same room: the
4.4 ms of the sound's flight from the speakers, the player's latency, which the scores take
off). On a busy machine Chromium's capture can slip by a 10 ms buffer. The song's bleed slips
with the strokes, and the scores follow it (:mod:`drumjam.analysis.slips`): they still read
30 ms. Where the page's own capture put each quarter second of the take (found by
cross-correlation with the file) is said when they do not, to tell a slip from a wrong score.
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
import soxr
from scipy.ndimage import median_filter
from scipy.signal import fftconvolve

from drumjam.analysis.roundtrip import calibration_clicks
from drumjam.io.audio import load_audio
from drumjam.io.render import render_events
from drumjam.library import builtin_dir
from drumjam.model import Hit
from drumjam.session.mic import encode_frame
from drumjam.session.playback import BackingSignal, ClickSignal, click_schedule

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
from mic_room import convolve, render_onset_delay_s, room_ir  # noqa: E402
from test_mic import _browser, _open  # noqa: E402
from test_mic_web import _check_kit  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SR = 48000
DEVICE = "Fake Default Audio Input"
LATE_S = 0.030
MARKER_S = 0.2
SONG_AT_S = 5.0  # file time of song time 0
BLEED_GAIN = 0.25
LOOP = {"first_bar": 0, "last_bar": 1, "repeats": 2}

# Before the page's scripts run: note the audio-clock frame of the first loud sample the
# microphone's worklet node posts (the marker), and keep what it captures after it.
OBSERVE = """(() => {
  window.__marker = null;
  window.__received = [];
  window.__gaps = [];
  const Socket = window.WebSocket;
  window.WebSocket = class extends Socket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (ev) => {
        if (typeof ev.data === "string") window.__received.push(ev.data.slice(0, 300));
      });
    }
  };
  const Node = window.AudioWorkletNode;
  window.AudioWorkletNode = class extends Node {
    constructor(ctx, name, options) {
      super(ctx, name, options);
      if (name !== "drumjam-mic") return;
      window.__frames = [];
      this.port.addEventListener("message", (ev) => {
        const last = window.__frames.length ? window.__frames[window.__frames.length - 1] : null;
        if (last && ev.data.firstFrame !== last[0] + last[1].length) window.__gaps.push([last[0], ev.data.firstFrame]);
        if (window.__marker !== null) {
          if (window.__frames.length < 3000) window.__frames.push([ev.data.firstFrame, ev.data.samples.slice()]);
          return;
        }
        const i = ev.data.samples.findIndex((x) => Math.abs(x) > 0.5);
        if (i >= 0) window.__marker = ev.data.firstFrame + i;
      });
    }
  };
})();"""

# Song time 0 placed SONG_AT_S - MARKER_S after the marker on the audio clock; the session is
# asked for once the marker is heard (the microphone is opened first).
ANCHOR = """([markerS, songAtS]) => {
  const fetch = window.fetch;
  window.fetch = async (url, init) => {
    if (String(url).endsWith("/api/sessions") && init && init.method === "POST") {
      for (let waited = 0; window.__marker === null && waited < 20000; waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    return fetch(url, init);
  };
  const clock = drumjam.engine.clock, ctx = drumjam.engine.ctx;
  const startAt = clock.startAt.bind(clock);
  clock.startAt = (asked) => {
    if (window.__marker === null) throw new Error("the file's marker was not heard before the start");
    const at = window.__marker / ctx.sampleRate + songAtS - markerS;
    window.__anchor = { at, asked };
    return startAt(at);
  };
}"""


# The captured samples of audio-clock frames [a, b), as base64 of float32 (cheap to pass).
CAPTURED = """([a, b]) => {
  const out = new Float32Array(b - a);
  for (const [first, samples] of window.__frames) {
    const lo = Math.max(a, first), hi = Math.min(b, first + samples.length);
    if (hi > lo) out.set(samples.subarray(lo - first, hi - first), lo - a);
  }
  const bytes = new Uint8Array(out.buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}"""


def _landing(captured: np.ndarray, first: int, audio: np.ndarray, marker: int, rate: int,
             file_s: np.ndarray) -> np.ndarray:
    """How much later than the marker says each quarter second of the file from ``file_s`` on
    lies in what the page captured (``captured`` from audio-clock frame ``first``): a capture
    glitch while the machine is busy can shift what follows by a buffer of 10 ms."""
    out = []
    for u in file_s:
        want = marker + int(round((u - MARKER_S) * rate)) - first
        got = captured[want - rate // 20:want + rate // 4 + rate // 20]
        piece = soxr.resample(audio[int(u * SR):int((u + 0.25) * SR)], SR, rate)
        lag = int(np.argmax(np.abs(fftconvolve(got, piece[::-1], "valid"))))
        out.append((lag - rate // 20) / rate)
    return np.asarray(out)


def _plan(base: str) -> dict:
    body = {"song_id": "slow-funk", "players": [{"name": "Mic", "latency_ms": 0.0}], "loop": LOOP}
    r = httpx.post(f"{base}/api/sessions", json=body, timeout=60)
    assert r.status_code == 201, r.text
    return r.json()["plan"]


def _calibrate_by_ear(api: httpx.Client, rate: int) -> float:
    """The player's calibration by ear, as the page records it before a first take (at the
    page's sample rate): the clicks from the speakers through the take's room, on the audio
    clock with no delay but the flight (4.4 ms at 1.5 m). Returns the round trip stored."""
    clicks, _ = calibration_clicks(sample_rate=rate)
    # the room of the take's file (its response drawn at SR), at the page's rate
    ir = soxr.resample(room_ir(sample_rate=SR, distance_m=1.5), SR, rate) * (SR / rate)
    heard = BLEED_GAIN * convolve(clicks, ir, clicks.size + rate)
    heard = np.concatenate([np.zeros(rate // 10, np.float32), heard.astype(np.float32)])
    r = api.post("/api/calibration/ear", params={"sample_rate": rate, "clicks_frame": rate,
                                                 "name": "Mic", "device": DEVICE},
                 content=encode_frame(heard, player=0, seq=0, first_frame=rate - rate // 10),
                 headers={"content-type": "application/octet-stream"})
    assert r.status_code == 200 and r.json()["stored"], r.text
    return r.json()["latency_ms"]


def _file(plan: dict, path: Path) -> list[dict]:
    """Write the fake microphone's file; the notes the take plays."""
    notes = plan["notes"]
    take = [Hit(SONG_AT_S + n["time_s"] + LATE_S, n["voice"], n["velocity"]) for n in notes]
    drums, _ = render_events(take, soundfont="black_pearl", sample_rate=SR, mono=True)
    n = int((SONG_AT_S + plan["duration_s"] + 2.0) * SR)
    drums = np.pad(drums, (0, max(0, n - drums.size)))[:n]
    song, _ = load_audio(builtin_dir() / "slow-funk" / "backing.ogg", sample_rate=SR)
    played_n = n - int(SONG_AT_S * SR)
    backing = BackingSignal(song, sample_rate=SR, lead_in_s=plan["lead_in_s"],
                            audio_start_s=plan["audio_start_s"], audio_end_s=plan["audio_end_s"],
                            looped=plan["looped"], duration_s=plan["duration_s"]).samples(0, played_n)
    bm = plan["beatmap"]
    clicks = ClickSignal(click_schedule(bm["beats"], bm["downbeats"], meter=bm["meter"],
                                        first_s=plan["lead_in_s"], end_s=plan["duration_s"],
                                        count_in_bars=1),
                         sample_rate=SR, start_s=0.0).samples(0, played_n)
    bleed = BLEED_GAIN * convolve(backing + clicks, room_ir(sample_rate=SR, distance_m=1.5), played_n)
    audio = drums
    audio[n - played_n:] += bleed
    marker = int(MARKER_S * SR)
    assert not np.any(np.abs(audio[:int((SONG_AT_S - 3.5) * SR)]) > 1e-3)  # silence around it
    # a burst loud from its first sample, so the frame the page hears it at is the file's sample
    audio[marker:marker + 96] = 0.9 * np.exp(-np.arange(96) / 16.0)
    sf.write(path, np.clip(audio, -1, 1), SR, subtype="PCM_16")
    return notes


def test_a_take_30_ms_late_is_marked_and_scored_30_ms_late_with_the_song_in_the_microphone(
        jam_server, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    plan = _plan(jam_server)
    notes = _file(plan, tmp_path / "take.wav")
    with httpx.Client(base_url=jam_server, timeout=120) as api:  # the kit checked first
        profile = _check_kit(api, sorted({n["voice"] for n in notes}), DEVICE)
    assert profile["stored"]
    with sync_playwright() as p:
        browser = _browser(p, "--use-fake-ui-for-media-stream",
                           f"--use-file-for-fake-audio-capture={tmp_path / 'take.wav'}")
        page, errors = _open(browser, jam_server, name="Mic", init_script=OBSERVE)
        with httpx.Client(base_url=jam_server, timeout=120) as api:
            round_trip_ms = _calibrate_by_ear(api, page.evaluate("drumjam.engine.ctx.sampleRate"))
        # the round trip stored for the player and this microphone fills their latency (and no
        # calibration by ear is asked for before the take)
        page.dispatch_event("#name-0", "change")
        page.wait_for_function("() => document.querySelector('#mic-info-0').textContent.includes('(stored)')")
        latency_ms = float(page.input_value("#latency-0"))
        assert latency_ms == round(round_trip_ms)
        page.check("#loop")
        page.fill("#loop-first", str(LOOP["first_bar"] + 1))
        page.fill("#loop-last", str(LOOP["last_bar"] + 1))
        page.fill("#loop-repeats", str(LOOP["repeats"]))
        page.evaluate(ANCHOR, [MARKER_S, SONG_AT_S])
        page.click("#start")
        page.wait_for_function("() => document.body.dataset.mode === 'playing' "
                               "|| document.querySelector('#message').textContent !== ''", timeout=60_000)
        assert page.evaluate("document.body.dataset.mode") == "playing", page.inner_text("#message")
        anchor = page.evaluate("window.__anchor")
        # the live marks as the play screen shows them, read until the song's end takes the
        # page to the results
        marks: list = []
        marker, rate = page.evaluate("window.__marker"), page.evaluate("drumjam.engine.ctx.sampleRate")
        first = marker + int((SONG_AT_S + plan["lead_in_s"] - 1.0 - MARKER_S) * rate)
        pieces: list[np.ndarray] = []  # what the page captured from `first` on, 1 s at a time
        deadline = time.monotonic() + plan["duration_s"] + 120.0
        while "results.html" not in page.url:
            assert time.monotonic() < deadline, (page.evaluate("document.body.dataset.mode"),
                                                 page.inner_text("#message"),
                                                 page.evaluate("window.__received.slice(-12)"),
                                                 page.evaluate("window.__gaps"))
            try:
                marks = page.evaluate("drumjam.screen.lanes[0].marks.map((m) => [m.time_s, m.voice, m.offset_ms])")
                now = int(page.evaluate("drumjam.engine.ctx.currentTime") * rate)
                if now > first + (len(pieces) + 1) * rate + rate // 2:
                    a = first + len(pieces) * rate
                    pieces.append(np.frombuffer(base64.b64decode(page.evaluate(CAPTURED, [a, a + rate])),
                                                np.float32))
            except Exception:  # noqa: BLE001 (the page left while being read)
                break
            page.wait_for_timeout(300)
        # the song's end took the page to the results
        page.wait_for_selector("body[data-ready='1']")
        session_id = page.url.rsplit("=", 1)[-1]
        saved = page.request.get(f"{jam_server}/api/history/{session_id}/results.json").json()
        browser.close()
    assert not errors, errors
    assert anchor["at"] >= anchor["asked"], anchor  # the song was not started in the past
    audio = sf.read(tmp_path / "take.wav", dtype="float32")[0]
    captured = np.concatenate(pieces)
    # every quarter second of the take the page's capture was read for (all but its last
    # second or so, gone with the page)
    captured_to_s = plan["lead_in_s"] - 1.0 + captured.size / rate
    song_s = np.arange(plan["lead_in_s"], min(notes[-1]["time_s"], captured_to_s - 0.35), 0.25)
    assert song_s[-1] > notes[-1]["time_s"] - 2.0, (song_s[-1], captured_to_s)
    # a shift only steps (a slipped buffer): a quarter second read wrong is its neighbours'
    landed_s = median_filter(_landing(captured, first, audio, marker, rate, SONG_AT_S + song_s),
                             size=5, mode="nearest")

    # the take's offset against the song in the microphone, less the player's latency (the
    # round trip): a slipped capture moved both, so it holds through any slip
    late_ms = 1000 * (LATE_S + render_onset_delay_s("black_pearl", sample_rate=SR)) - latency_ms
    slips_ms = np.round(1000 * landed_s, 1)  # where the page's capture put the take, said if wrong

    player = saved["results"]["players"][0]
    score = player["score"]
    # every note but soft hi-hats and snares under the song's bleed (tests/test_mic_web.py
    # draws the line at velocity 50 with the microphone's stream exact; here Chromium's
    # capture may slip by a buffer, and the canceller takes a moment to follow)
    def soft(n: dict) -> bool:
        return n["voice"] == "hihat_pedal" or (n["velocity"] < 64 and n["voice"] in ("hihat_closed", "snare"))

    missed = [plan["notes"][i] for i in player["missed"]]
    assert all(soft(n) for n in missed), ([n for n in missed if not soft(n)], slips_ms)
    # most of the slow funk's notes are soft hi-hats (84 of 108): at least three in four of
    # them heard, those struck with a snare or a kick too (the kit check's spectra and the
    # chart; 4 of the 108 notes, soft hi-hats under ghost snares, went unheard in the last
    # full run, as the README says)
    assert score["matched"] == len(notes) - len(missed)
    assert len(missed) <= 0.25 * sum(soft(n) for n in notes), (len(missed), len(notes), slips_ms)
    # a stroke heard between a slip and its finding (about a second) keeps the slip's 10 ms
    assert score["mean_offset_ms"] == pytest.approx(late_ms, abs=5.0), slips_ms
    # the live marks: as many as the notes matched, where the strokes were played
    live_ms = [m[2] for m in marks if m[2] is not None]
    assert len(live_ms) >= score["matched"], marks
    assert np.median(live_ms) == pytest.approx(late_ms, abs=5.0), (live_ms, slips_ms)
