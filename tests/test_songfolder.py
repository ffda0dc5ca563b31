"""Rhythm-game song folders: Clone Hero ``notes.chart``, Rock Band ``notes.mid``, stems."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from drumjam.errors import FileFormatError, MidiFileError
from drumjam.io.songfolder import read_dot_chart, read_rb_midi, read_song_folder
from drumjam.model import Voice

SR = 22050

# 120 BPM for two bars of 4/4 (768 ticks at 192 a beat = 2 s), then 60 BPM
PRO_CHART = """\ufeff[Song]
{
  Name = "Test Song"
  Resolution = 192
  Offset = 0
}
[SyncTrack]
{
  0 = TS 4
  0 = B 120000
  768 = B 60000
}
[ExpertSingle]
{
  0 = N 0 0
}
[ExpertDrums]
{
  0 = N 0 0
  0 = N 32 0
  192 = N 1 0
  384 = N 2 0
  384 = N 66 0
  576 = N 2 0
  960 = N 3 0
  960 = N 4 0
  960 = N 68 0
  960 = E solo
}
"""


def _notes(chart) -> list[tuple[float, Voice]]:
    return [(round(n.time_s, 6), n.voice) for n in chart.notes]


def test_pro_drums_chart_with_tempo_change_and_cymbal_flags(tmp_path: Path) -> None:
    path = tmp_path / "notes.chart"
    path.write_text(PRO_CHART, encoding="utf-8")
    chart = read_dot_chart(path)
    assert sorted(_notes(chart), key=lambda x: (x[0], x[1].value)) == sorted([
        (0.0, Voice.KICK), (0.0, Voice.KICK), (0.5, Voice.SNARE),
        (1.0, Voice.HIHAT_CLOSED),  # flagged cymbal
        (1.5, Voice.TOM_HIGH),      # no flag: tom
        (3.0, Voice.TOM_MID), (3.0, Voice.CRASH),
    ], key=lambda x: (x[0], x[1].value))
    bm = chart.beatmap
    assert bm.meter == 4 and bm.beats_s[:6] == pytest.approx([0, 0.5, 1.0, 1.5, 2.0, 3.0])


def test_chart_without_flags_and_five_lane_chart(tmp_path: Path) -> None:
    plain = PRO_CHART.replace("  384 = N 66 0\n", "").replace("  960 = N 68 0\n", "")
    (tmp_path / "notes.chart").write_text(plain)
    voices = {t: v for t, v in _notes(read_dot_chart(tmp_path / "notes.chart"))}
    assert voices[1.0] == voices[1.5] == Voice.HIHAT_CLOSED
    five = plain.replace("  960 = N 4 0\n", "  960 = N 4 0\n  1152 = N 5 0\n")
    (tmp_path / "notes.chart").write_text(five)
    got = _notes(read_dot_chart(tmp_path / "notes.chart"))
    assert (3.0, Voice.CRASH) in got and (4.0, Voice.TOM_FLOOR) in got and (3.0, Voice.TOM_MID) in got


def _rb_midi(path: Path) -> None:
    ppq = 480
    mid = mido.MidiFile(ticks_per_beat=ppq)
    tempo = mido.MidiTrack([mido.MetaMessage("track_name", name="tempo"),
                            mido.MetaMessage("time_signature", numerator=4, denominator=4),
                            mido.MetaMessage("set_tempo", tempo=500000)])
    events = [(0, 96), (480, 97), (960, 98), (1440, 98), (1920, 100), (2400, 99),
              (0, 60), (480, 61)]  # 60-64: easy difficulty, not played
    markers = [(1440, 110, True), (1920, 110, False)]  # yellow at 1440 is a tom
    timeline = sorted([(t, "on", n) for t, n in events] + [(t + 60, "off", n) for t, n in events]
                      + [(t, "on" if on else "off", n) for t, n, on in markers])
    drums = mido.MidiTrack([mido.MetaMessage("track_name", name="PART DRUMS")])
    now = 0
    for t, kind, note in timeline:
        drums.append(mido.Message("note_on", note=note, velocity=100 if kind == "on" else 0, time=t - now))
        now = t
    guitar = mido.MidiTrack([mido.MetaMessage("track_name", name="PART GUITAR"),
                             mido.Message("note_on", note=96, velocity=100, time=0)])
    mid.tracks += [tempo, drums, guitar]
    mid.save(path)


def test_rock_band_midi_expert_drums_with_tom_markers(tmp_path: Path) -> None:
    _rb_midi(tmp_path / "notes.mid")
    chart = read_rb_midi(tmp_path / "notes.mid")
    assert _notes(chart) == [(0.0, Voice.KICK), (0.5, Voice.SNARE), (1.0, Voice.HIHAT_CLOSED),
                             (1.5, Voice.TOM_HIGH), (2.0, Voice.CRASH), (2.5, Voice.RIDE)]
    assert chart.beatmap.tempo_bpm == pytest.approx(120.0)
    empty = mido.MidiFile()
    empty.tracks.append(mido.MidiTrack([mido.MetaMessage("track_name", name="PART GUITAR")]))
    empty.save(tmp_path / "guitar_only.mid")
    with pytest.raises(MidiFileError, match="no PART DRUMS track"):
        read_rb_midi(tmp_path / "guitar_only.mid")


def _stem(path: Path, kind: str, seconds: float = 4.0) -> None:
    t = np.arange(int(seconds * SR)) / SR
    y = 0.3 * np.sin(2 * np.pi * 220 * t) if kind == "tone" else 0.3 * np.random.default_rng(0).standard_normal(t.size)
    sf.write(path, y.astype(np.float32), SR)


def test_song_folder_delay_metadata_and_backing_without_drums(tmp_path: Path) -> None:
    folder = tmp_path / "Artist - Test Song"
    folder.mkdir()
    (folder / "notes.chart").write_text(PRO_CHART)
    (folder / "song.ini").write_text("[Song]\nname = Test Song\nartist = The Band\ndelay = 100\n")
    _stem(folder / "guitar.wav", "tone")
    _stem(folder / "drums_1.wav", "noise")
    _stem(folder / "preview.wav", "noise")
    song = read_song_folder(tmp_path)  # the folder holding the song folder also works
    assert (song.title, song.artist, song.path) == ("Test Song", "The Band", folder)
    assert song.chart.notes[0].time_s == pytest.approx(0.1)  # delay = 100 ms
    assert song.chart.beatmap.beats_s[0] == pytest.approx(0.1)
    assert [p.name for p in song.backing_stems] == ["guitar.wav"]
    assert [p.name for p in song.drum_stems] == ["drums_1.wav"]
    backing, sr = song.backing_audio()
    spectrum = np.abs(np.fft.rfft(backing[:SR]))
    assert sr == SR and np.argmax(spectrum) == pytest.approx(220, abs=2)  # the tone, no noise


@pytest.mark.parametrize(("setup", "message"), [
    (lambda d: None, "no song folder"),
    (lambda d: (d / "notes.chart").write_text("[Song]\n{\n Resolution = 192\n}\n"), r"no \[ExpertDrums\]"),
    (lambda d: ((d / "notes.chart").write_text(PRO_CHART), (d / "song.ini").write_text("delay = soon\n")),
     "not a number of ms"),
    (lambda d: (d / "notes.chart").write_text(PRO_CHART), "no audio"),
])
def test_bad_song_folders_get_clear_errors(tmp_path: Path, setup, message: str) -> None:
    setup(tmp_path)
    with pytest.raises(FileFormatError, match=message):
        read_song_folder(tmp_path)


def _zipped_song(tmp_path: Path, extra: dict[str, bytes] | None = None) -> bytes:
    import io
    import zipfile

    folder = tmp_path / "src"
    folder.mkdir()
    _stem(folder / "guitar.wav", "tone")
    _stem(folder / "drums.wav", "noise")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("The Band - Test Song/notes.chart", PRO_CHART)
        zf.writestr("The Band - Test Song/song.ini", "[song]\nname = Test Song\nartist = The Band\n")
        for stem in ("guitar.wav", "drums.wav"):
            zf.write(folder / stem, f"The Band - Test Song/{stem}")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zipped_song_folder_becomes_a_song_of_the_jam_app(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from drumjam.web.app import create_app

    client = TestClient(create_app(home=tmp_path / "home"))
    r = client.post("/api/songs", files={"file": ("test song.zip", _zipped_song(tmp_path), "application/zip")})
    assert r.status_code == 201, r.text
    song = r.json()
    assert song["title"] == "The Band – Test Song" and song["has_chart"] and song["notes"] == 7
    assert not song["beatmap_correctable"]  # the chart's beat map is exact
    plan = client.post("/api/sessions", json={"song_id": song["id"], "players": [{"name": "Ann"}]}).json()["plan"]
    lead = plan["lead_in_s"]
    voices = sorted((round(n["time_s"] - lead, 4), n["voice"]) for n in plan["notes"])
    assert voices[:3] == [(0.0, "kick"), (0.0, "kick"), (0.5, "snare")]
    audio = client.get(f"/api/songs/{song['id']}/audio")
    backing, sr = sf.read(__import__("io").BytesIO(audio.content), dtype="float32")
    spectrum = np.abs(np.fft.rfft(backing[:sr] if backing.ndim == 1 else backing[:sr, 0]))
    assert np.argmax(spectrum) * 1.0 == pytest.approx(220, abs=2)  # the guitar, not the drums


@pytest.mark.parametrize(("extra", "message"), [
    ({"../evil.txt": b"x"}, "path outside the folder"),
    ({"Another/notes.chart": PRO_CHART.encode()}, "more than one song folder"),
])
def test_bad_zips_are_refused_and_leave_nothing(tmp_path: Path, extra: dict, message: str) -> None:
    from fastapi.testclient import TestClient

    from drumjam.web.app import create_app

    home = tmp_path / "home"
    client = TestClient(create_app(home=home))
    before = client.get("/api/songs").json()
    r = client.post("/api/songs", files={"file": ("bad.zip", _zipped_song(tmp_path, extra), "application/zip")})
    assert r.status_code == 400 and message in r.json()["detail"] and "bad.zip" in r.json()["detail"]
    assert client.get("/api/songs").json() == before
    assert not (tmp_path / "evil.txt").exists() and not (home / "evil.txt").exists()
    not_zip = client.post("/api/songs", files={"file": ("song.zip", b"PK\x03\x04 broken", "application/zip")})
    assert not_zip.status_code == 400 and "not a readable zip" in not_zip.json()["detail"]


def test_score_a_take_against_a_song_folder_on_the_command_line(tmp_path: Path, capsys) -> None:
    import json

    from drumjam.cli import main
    from drumjam.io.midi import write_midi
    from drumjam.model import Hit

    folder = tmp_path / "song"
    folder.mkdir()
    _rb_midi(folder / "notes.mid")
    _stem(folder / "song.wav", "tone")
    chart = read_song_folder(folder).chart
    take = [Hit(n.time_s + 0.012, n.voice, 100) for n in chart.notes]
    write_midi(tmp_path / "take.mid", take, chart.beatmap)
    with pytest.raises(SystemExit) as stop:
        main(["score", str(tmp_path / "take.mid"), "--chart", str(folder), "--json"])
    assert stop.value.code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mode"] == "chart" and result["matched"] == len(chart.notes)
    assert result["mean_offset_ms"] == pytest.approx(12.0, abs=1.0)


def test_a_song_folder_s_chart_needs_no_audio_and_a_zip_is_named_as_one(tmp_path: Path) -> None:
    from drumjam.io.songfolder import load_chart

    folder = tmp_path / "song"
    folder.mkdir()
    (folder / "notes.chart").write_text(PRO_CHART)
    (folder / "song.ini").write_text("[Song]\nname = Test Song\ndelay = 100\n")
    chart = load_chart(folder)  # scoring needs the notes, not the song's audio
    assert chart.title == "Test Song" and chart.notes[0].time_s == pytest.approx(0.1)
    with pytest.raises(FileFormatError, match="no audio"):
        read_song_folder(folder)  # a song to play along to does
    (tmp_path / "song.zip").write_bytes(_zipped_song(tmp_path))
    for name in ("song.zip", "renamed.mid"):
        (tmp_path / name).write_bytes((tmp_path / "song.zip").read_bytes())
        with pytest.raises(FileFormatError, match="is a zip archive, not a chart .unpack it"):
            load_chart(tmp_path / name)
