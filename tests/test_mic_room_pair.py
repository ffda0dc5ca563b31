"""Two acoustic kits in one room, live: two microphone players of one session, each microphone
hearing both kits, streamed over the session's WebSocket.

The song's first bars are played by two drummers, one 25 ms late and one 12 ms early (each
stroke a few ms off at random), on two sampled kits (AVL Black Pearl and Red Zeppelin), and
mixed into two microphones of a simulated room (:mod:`mic_room`: 0.4 m from their own kit,
2.6-3.2 m from the other, 1/r loudness, flight delay, reverb). The room check of each kit (the
player alone while both microphones record) is posted first; then the two microphones stream
as one interface's two channels (one connection) or from two devices (two connections).
"""

from __future__ import annotations

import os
from functools import partial

import numpy as np
import pytest
from fastapi.testclient import TestClient

from drumjam.analysis.kitcheck import attribute, learn_kit
from drumjam.analysis.transcribe import transcribe_blocks
from drumjam.io.audio import load_audio
from drumjam.io.render import render_events
from drumjam.library import builtin_dir
from drumjam.model import Hit, Voice, voice_group
from drumjam.session.mic import MicInput, decode_frame, encode_frame
from drumjam.session.playback import ClickSignal, BackingSignal, click_schedule
from drumjam.session.roompair import RoomPair
from drumjam.web.app import create_app
from mic_room import convolve, flight_s, render_onset_delay_s, room_ir, slipped, two_mics

SR = 48000
BLOCK = SR // 50
ZERO = 3 * SR  # the audio clock had run 3 s when the timeline started
KITS = ("black_pearl", "red_zeppelin")
NAMES = ("Ann", "Ben")
OFFSETS_S = (0.025, -0.012)
JITTER_S = 0.004
SONG_S = 14.0
DEVICE = "USB Audio Interface"
CHECK = [Voice.KICK, Voice.SNARE, Voice.HIHAT_CLOSED, Voice.TOM_HIGH, Voice.TOM_FLOOR, Voice.CRASH,
         Voice.RIDE]
MATCH_S = 0.025


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    app = create_app(home=home, db_url=os.environ.get("DRUMJAM_DB_URL"), max_upload_bytes=8_000_000)
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def check_mics() -> list[list[np.ndarray]]:
    """Each kit's room check as both microphones hear it (its player alone)."""
    check = [Hit(0.5 + 0.35 * i, v, 100) for i, v in enumerate(np.repeat(CHECK, 4))]
    out = []
    for k, kit in enumerate(KITS):
        alone, _ = render_events(check, soundfont=kit, sample_rate=SR, mono=True)
        silent = np.zeros_like(alone)
        out.append(two_mics(*((alone, silent) if k == 0 else (silent, alone)), sample_rate=SR))
    return out


@pytest.fixture(scope="module")
def room_checked(client, check_mics) -> None:
    """Each kit's room check posted and stored."""
    for k, mics in enumerate(check_mics):
        body = b"".join(encode_frame(mics[m], player=m, seq=0, first_frame=ZERO) for m in (k, 1 - k))
        r = client.post("/api/kitcheck/room", params={"sample_rate": SR, "name": NAMES[k],
                                                       "device": DEVICE, "partner_device": DEVICE},
                        content=body, headers={"content-type": "application/octet-stream"})
        assert r.status_code == 200, r.text
        truth_ms = 1000 * (flight_s(1 - k, k) - flight_s(k, k))
        assert r.json()["delay_ms"] == pytest.approx(truth_ms, abs=0.5)
    stored = client.get("/api/kitcheck", params={"name": NAMES[0], "device": DEVICE}).json()
    assert stored["room"]["hits"] >= 20 and not stored["checked"]  # a room check, no kit check


def _live(client) -> dict:
    body = {"song_id": "slow-funk", "players": [
        {"name": n, "input": "mic", "device": DEVICE, "latency_ms": 0.0} for n in NAMES]}
    r = client.post("/api/sessions", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _duet(plan: dict) -> tuple[list[list[Hit]], list[np.ndarray], list[float]]:
    """Each drummer's strokes as they sound (the truth, one per note), the two microphones and
    the notes' times."""
    notes = [n for n in plan["notes"] if plan["lead_in_s"] <= n["time_s"] < SONG_S]
    rng = np.random.default_rng(5)
    played, truth = [], []
    for k, kit in enumerate(KITS):
        take = [Hit(n["time_s"] + OFFSETS_S[k] + rng.normal(0, JITTER_S), n["voice"],
                    int(np.clip(n["velocity"] + rng.integers(-10, 11), 40, 127))) for n in notes]
        played.append(render_events(take, soundfont=kit, sample_rate=SR, mono=True)[0])
        # a rendered stroke starts to sound a few ms after its note
        onset_s = render_onset_delay_s(kit, sample_rate=SR)
        truth.append([Hit(h.time_s + onset_s, h.voice, h.velocity) for h in take])
    n = max(x.size for x in played)
    mics = two_mics(*(np.pad(x, (0, n - x.size)) for x in played), sample_rate=SR)
    return truth, mics, [n["time_s"] for n in notes]


def _start(ws, player: int, *, cancel_bleed: bool = False) -> None:
    ws.send_json({"type": "mic_start", "player": player, "sample_rate": SR, "timeline_zero_frame": ZERO,
                  "cancel_bleed": cancel_bleed, "device": DEVICE, "room_pair": True})


def _speakers(plan: dict, n: int) -> np.ndarray:
    """What the page plays from timeline 0 on (its defaults: the song, a bar of count-in, every
    beat clicked)."""
    song, _ = load_audio(builtin_dir() / "slow-funk" / "backing.ogg", sample_rate=SR)
    backing = BackingSignal(song, sample_rate=SR, lead_in_s=plan["lead_in_s"],
                            audio_start_s=plan["audio_start_s"], audio_end_s=plan["audio_end_s"],
                            looped=plan["looped"], duration_s=plan["duration_s"]).samples(0, n)
    bm = plan["beatmap"]
    clicks = click_schedule(bm["beats"], bm["downbeats"], meter=bm["meter"],
                            first_s=plan["lead_in_s"], end_s=plan["duration_s"], count_in_bars=1)
    return backing + ClickSignal(clicks, sample_rate=SR, start_s=0.0).samples(0, n)


def _frames(mic: np.ndarray, player: int, lo: int, hi: int):
    for i in range(lo, min(hi, mic.size), BLOCK):
        yield encode_frame(mic[i:i + BLOCK], player=player, seq=i // BLOCK, first_frame=ZERO + i)


def _until_ended(ws, players: set[int]) -> list[dict]:
    out, ended = [], set()
    while ended != players:
        msg = ws.receive_json()
        out.append(msg)
        if msg["type"] == "mic_status" and msg["status"] == "ended":
            ended.add(msg["player"])
    return out


def _attribution(judged: list[dict], truth: list[list[Hit]]) -> dict[str, int]:
    """Each judged hit put to the nearer stroke of its group (its own drummer's or the other's,
    as its microphone heard them): right, wrong, unmatched, and strokes counted twice for one
    player (the pair stage passing a hit on twice)."""
    counts = {"right": 0, "wrong": 0, "none": 0, "twice": 0}
    used: set[tuple[int, int, int]] = set()
    for m in judged:
        p = m["player"]
        best = None
        for k in (0, 1):
            for i, h in enumerate(truth[k]):
                d = abs(m["time_s"] - flight_s(p, k) - h.time_s)
                if voice_group(h.voice) == voice_group(m["voice"]) and d <= MATCH_S and (best is None or d < best[0]):
                    best = (d, k, i)
        if best is None:
            counts["none"] += 1
            continue
        counts["right" if best[1] == p else "wrong"] += 1
        counts["twice"] += (p, best[1], best[2]) in used
        used.add((p, best[1], best[2]))
    return counts


def _check_result(client, result: dict, judged: list[dict], truth: list[list[Hit]],
                  notes: list[float]) -> None:
    counts = _attribution(judged, truth)
    assert counts["right"] + counts["wrong"] >= 0.75 * sum(len(t) for t in truth), counts
    assert counts["right"] / (counts["right"] + counts["wrong"]) >= 0.95, counts
    assert counts["twice"] == 0, counts
    saved = client.get(f"/api/history/{result['session_id']}").json()["results"]
    # the truth: each drummer's strokes against the notes, as their own microphone hears them
    # (0.4 m of air); both played every note
    want = [1000 * float(np.mean([h.time_s + flight_s(k, k) - n for h, n in zip(truth[k], notes)]))
            for k in (0, 1)]
    for k in (0, 1):
        score = saved["players"][k]["score"]
        assert score["matched"] <= len(truth[k])
        assert score["mean_offset_ms"] == pytest.approx(want[k], abs=3.0)
    assert saved["duet"]["sync"]["mean_async_ms"] == pytest.approx(want[0] - want[1], abs=3.0)


@pytest.mark.parametrize(("speakers_gain", "slip_ms"), [(None, 0.0), (0.5, 0.0), (0.0, 0.0),
                                                       (0.5, 10.0)])
def test_one_interface_two_channels_attributes_every_hit(client, room_checked,
                                                        speakers_gain: float | None,
                                                        slip_ms: float) -> None:
    """As one interface's two channels; without cancelling (None), and with both microphones
    cancelling what the page plays: its speakers heard from 1.5 m and 2.2 m away (0.5), or
    not heard at all (0.0, headphones: the canceller must learn there is nothing to cancel);
    and with the first microphone's capture falling 10 ms behind 4 s in (found from the song
    in it: its strokes and its audio for the pair are moved back). The same figures each
    time."""
    live = _live(client)
    truth, mics, notes = _duet(live["plan"])
    if speakers_gain is not None:
        out = _speakers(live["plan"], mics[0].size)
        mics = [m + speakers_gain * convolve(out, room_ir(sample_rate=SR, distance_m=d, seed=k), m.size)
                for k, (m, d) in enumerate(zip(mics, (1.5, 2.2)))]
    if slip_ms:
        mics[0] = slipped(mics[0], int(round(slip_ms * SR / 1000)), at=4 * SR)
    with client.websocket_connect(live["websocket"]) as ws:
        for p in (0, 1):
            _start(ws, p, cancel_bleed=speakers_gain is not None)
        for a, b in zip(_frames(mics[0], 0, 0, mics[0].size), _frames(mics[1], 1, 0, mics[1].size)):
            ws.send_bytes(a)
            ws.send_bytes(b)
        for p in (0, 1):
            ws.send_json({"type": "mic_end", "player": p})
        replies = _until_ended(ws, {0, 1})
        assert not [m for m in replies if m["type"] == "error"]
        started = [m for m in replies if m["type"] == "mic_status" and m["status"] == "started"]
        assert len(started) == 2 and all("told apart" in m["detail"] for m in started)
        cancelled = ["bleed is cancelled" in m["detail"] for m in started]
        assert cancelled == [speakers_gain is not None] * 2, started
        judged = [m for m in replies if m["type"] == "judgment" and m["time_s"] is not None]
        ws.send_json({"type": "finish", "stop_s": SONG_S})
        result = ws.receive_json()
    _check_result(client, result, judged, truth, notes)


def test_two_devices_each_hear_their_own_players_judgments(client, room_checked) -> None:
    live = _live(client)
    truth, mics, notes = _duet(live["plan"])
    with client.websocket_connect(live["websocket"]) as ws0, \
            client.websocket_connect(live["websocket"]) as ws1:
        for ws, p in ((ws0, 0), (ws1, 1)):  # both devices started, then both stream
            _start(ws, p)
            assert ws.receive_json()["status"] == "started"
        for lo in range(0, mics[0].size, SR // 2):  # half a second from each device in turn
            for ws, p in ((ws0, 0), (ws1, 1)):
                for frame in _frames(mics[p], p, lo, lo + SR // 2):
                    ws.send_bytes(frame)
        ws1.send_json({"type": "mic_end", "player": 1})
        second = _until_ended(ws1, {1})
        ws0.send_json({"type": "mic_end", "player": 0})
        first = _until_ended(ws0, {0})
        for replies, p in ((first, 0), (second, 1)):
            assert not [m for m in replies if m["type"] == "error"]
            assert {m["player"] for m in replies if m["type"] == "judgment"} == {p}
        judged = [m for m in first + second if m["type"] == "judgment" and m["time_s"] is not None]
        ws0.send_json({"type": "finish", "stop_s": SONG_S})
        result = ws0.receive_json()
    _check_result(client, result, judged, truth, notes)


def test_a_pair_without_the_room_check_is_told_so(client) -> None:
    body = {"song_id": "slow-funk", "players": [
        {"name": n, "input": "mic", "device": "Laptop Microphone", "latency_ms": 0.0} for n in ("Cy", "Di")]}
    live = client.post("/api/sessions", json=body).json()
    with client.websocket_connect(live["websocket"]) as ws:
        ws.send_json({"type": "mic_start", "player": 0, "sample_rate": SR, "timeline_zero_frame": 0,
                      "cancel_bleed": False, "device": "Laptop Microphone", "room_pair": True})
        reply = ws.receive_json()
        assert reply["type"] == "error"
        assert "need the room check" in reply["detail"] and "Cy" in reply["detail"]
        # nothing was started: the frames of that microphone are refused, not counted twice
        ws.send_bytes(encode_frame(np.zeros(BLOCK), player=0, seq=0, first_frame=0))
        assert "was not started" in ws.receive_json()["detail"]
    alone = client.post("/api/sessions", json={"song_id": "slow-funk", "players": [
        {"name": "Cy", "input": "mic", "device": "Laptop Microphone", "latency_ms": 0.0}]}).json()
    with client.websocket_connect(alone["websocket"]) as ws:
        ws.send_json({"type": "mic_start", "sample_rate": SR, "timeline_zero_frame": 0,
                      "device": "Laptop Microphone", "room_pair": True})
        assert "this session has one player" in ws.receive_json()["detail"]


def test_the_pair_holds_a_hit_a_frame_at_most_and_decides_as_offline(client, check_mics) -> None:
    """Streamed together, both microphones have passed a hit by the time the transcriber
    reports it: the live mark waits for the other microphone at most one 20 ms frame. The
    decisions are those of the whole recordings attributed offline."""
    kits = [learn_kit(m[k], m[1 - k], transcribe_blocks([m[k]], sample_rate=SR), sample_rate=SR)
            for k, m in enumerate(check_mics)]
    _, mics, _ = _duet(_live(client)["plan"])
    reported: dict[tuple[int, float], int] = {}
    candidates: list[list[Hit]] = [[], []]
    taken: list[tuple[int, float, int]] = []
    pair = RoomPair(lambda p, hit: None, sample_rate=SR)
    position = [0]

    def heard(p: int, hit: Hit) -> None:
        reported[(p, hit.time_s)] = position[0]
        candidates[p].append(hit)
        pair.candidate(p, hit)

    inputs = []
    for p in (0, 1):
        pair.join(p, kits[p], sample_rate=SR)
        inputs.append(MicInput(partial(heard, p), sample_rate=SR, timeline_zero_frame=ZERO,
                               tap=partial(pair.tap, p)))
    for frames in zip(*(_frames(m, p, 0, 8 * SR) for p, m in enumerate(mics))):
        position[0] += BLOCK
        for p, data in enumerate(frames):
            inputs[p].feed(decode_frame(data))
        taken += [(p, h.hit.time_s, position[0]) for p in (0, 1) for h in pair.take(p)]
    assert len(taken) >= 40 and sum(pair.left_out) >= 3  # the other kit's strokes left out
    waits = [at - reported[(p, t)] for p, t, at in taken]
    assert max(waits) <= BLOCK, waits
    # the mark, from the stroke's onset: the transcriber's look-ahead and the frame
    assert max(at / SR - t for _, t, at in taken) <= 0.2
    # one path: the recordings attributed offline keep the same hits
    offline = attribute([m[:8 * SR] for m in mics], candidates, kits, sample_rate=SR)
    done_s = 8.0 - 0.5  # the live stream's last hits are still waiting
    assert {(p, h.time_s) for p in (0, 1) for h in offline[p] if h.time_s < done_s} == \
        {(p, t) for p, t, _ in taken if t < done_s}


def test_a_room_check_it_cannot_learn_from_is_refused_and_nothing_stored(client) -> None:
    def post(body: bytes):
        return client.post("/api/kitcheck/room", content=body, params={"sample_rate": SR, "name": "Eve"},
                           headers={"content-type": "application/octet-stream"})

    one = encode_frame(np.zeros(3 * SR), player=0, seq=0, first_frame=0)
    assert "not two microphone frames" in post(one + b"\0").json()["detail"]
    late = encode_frame(np.zeros(3 * SR), player=1, seq=0, first_frame=2 * SR)
    assert "recorded together for 1.0 s" in post(one + late).json()["detail"]
    silent = post(one + one)  # nobody played: no hits to learn from
    assert silent.status_code == 400 and "hit each drum a few times" in silent.json()["detail"]
    assert client.get("/api/kitcheck", params={"name": "Eve"}).json()["room"] is None
