"""Long audio is read, mixed, analysed and written in blocks: memory stays flat whatever the length.

The block paths must give what reading the whole file gives, a child process streaming an
hour of stereo audio (230 MB as float32 if it were held) must not grow by more than a few
blocks, and one analysing twenty minutes by no more than the analysis's frame-rate outputs.
``benchmarks/memory.py`` measures every path on a two-hour 48 kHz song.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from drumjam.analysis.click import mix_click, mix_click_file, render_click
from drumjam.errors import AudioFileError, FileFormatError
from drumjam.io.audio import audio_blocks, load_audio
from drumjam.io.midi import read_chart
from drumjam.io.songfolder import stem_mix_blocks
from drumjam.library.importers import prepare_song
from drumjam.model import BeatMap


def _groove(seconds: float, sr: int, channels: int = 2, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = 0.05 * rng.standard_normal((int(seconds * sr), channels))
    x[:: sr // 2] += 0.8  # a loud sample every half second
    return x.astype(np.float32)


def test_click_track_rendered_in_windows_joins_exactly() -> None:
    bm = BeatMap.constant(137.0, 30.0, meter=3)
    whole = render_click(bm, 30.0, 8000)
    cuts = [0, 1, 999, 1000, 4321, 77_777, 240_000]
    parts = [render_click(bm, (b - a) / 8000, 8000, start_frame=a) for a, b in zip(cuts, cuts[1:])]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_click_mixed_in_blocks_equals_the_whole_mix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    song = tmp_path / "song.wav"
    sf.write(song, _groove(12.0, 8000), 8000, subtype="FLOAT")
    bm = BeatMap.constant(100.0, 12.0)
    want = mix_click(load_audio(song, mono=False)[0], 8000, bm, click_gain_db=3.0)
    assert np.max(np.abs(want)) == pytest.approx(1.0)  # loud enough that the mix is scaled down
    monkeypatch.setattr("drumjam.io.audio.BLOCK_FRAMES", 3001)
    frames, sr = mix_click_file(song, tmp_path / "out.wav", bm, click_gain_db=3.0)
    got, got_sr = sf.read(tmp_path / "out.wav", dtype="float32")
    assert (frames, sr, got_sr, got.shape) == (want.shape[0], 8000, 8000, want.shape)
    np.testing.assert_allclose(got, want, atol=1.01 / 32768)  # 16-bit output


def test_a_part_of_a_file_is_read_alone(tmp_path: Path) -> None:
    path = tmp_path / "song.flac"
    x = _groove(5.0, 22050, channels=1)[:, 0]
    sf.write(path, x, 22050, subtype="PCM_24")
    whole, _ = load_audio(path)
    part, _ = load_audio(path, start_s=1.5, end_s=3.25)
    np.testing.assert_array_equal(part, whole[int(1.5 * 22050):int(3.25 * 22050)])
    with pytest.raises(ValueError, match="not a range"):
        load_audio(path, start_s=3.0, end_s=1.0)


def test_blocks_resampled_as_they_stream_equal_one_resampling(tmp_path: Path) -> None:
    path = tmp_path / "song.wav"
    sf.write(path, _groove(20.0, 44100), 44100, subtype="FLOAT")
    rate, _, blocks = audio_blocks(path, block_s=0.7, sample_rate=16000)
    parts = list(blocks)
    assert rate == 16000 and all(p.size == int(0.7 * 16000) for p in parts[:-1])
    got = np.concatenate(parts)
    want = load_audio(path, sample_rate=16000)[0]
    np.testing.assert_array_equal(got, want)
    assert abs(got.size - 20 * 16000) <= 1


STREAM_AN_HOUR = """
import sys
import numpy as np, soundfile as sf
from drumjam.analysis.click import mix_click_file
from drumjam.io.songfolder import stem_mix_blocks
from drumjam.model import BeatMap

def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

song, out = sys.argv[1], sys.argv[2]
bm = BeatMap.constant(120.0, 3600.0)
rate, blocks = stem_mix_blocks([song])
for block in blocks:  # warm up: imports, the first blocks
    break
start = hwm_mb()
frames = sum(b.size for b in stem_mix_blocks([song, song])[1])
mix_frames, _ = mix_click_file(song, out, bm)
print(start, hwm_mb(), frames, mix_frames)
"""


def test_an_hour_of_stereo_audio_streams_in_flat_memory(tmp_path: Path) -> None:
    """An hour at 8 kHz stereo (230 MB as float32): mixing two stems and writing the song with
    a click, three reads, grow the process by less than 40 MB."""
    song = tmp_path / "hour.wav"
    minute = _groove(60.0, 8000)
    with sf.SoundFile(song, "w", 8000, 2, subtype="PCM_16") as f:
        for _ in range(60):
            f.write(minute)
    done = subprocess.run([sys.executable, "-c", STREAM_AN_HOUR, str(song), str(tmp_path / "out.wav")],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    start_mb, peak_mb, frames, mix_frames = map(float, done.stdout.split())
    assert frames == mix_frames == 3600 * 8000
    assert peak_mb - start_mb < 40, f"grew {peak_mb - start_mb:.0f} MB"
    assert sf.info(str(tmp_path / "out.wav")).frames == 3600 * 8000


def test_stems_of_different_lengths_and_rates_mix_in_step(tmp_path: Path) -> None:
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    sf.write(a, np.full(8000 * 3, 0.25, np.float32), 8000, subtype="FLOAT")
    sf.write(b, np.full(16000 * 5, 0.5, np.float32), 16000, subtype="FLOAT")
    rate, blocks = stem_mix_blocks([a, b])
    mix = np.concatenate(list(blocks))
    assert rate == 8000 and abs(mix.size - 5 * 8000) <= 1
    np.testing.assert_allclose(mix[4000:20000], 0.75, atol=1e-3)  # both, away from the edges
    np.testing.assert_allclose(mix[28000:36000], 0.5, atol=1e-3)  # the longer one alone


def test_holding_more_audio_than_the_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    """Two hours of mono 48 kHz audio is read in blocks, but not held whole."""
    path = tmp_path / "set.wav"
    with sf.SoundFile(path, "w", 48000, 1, subtype="PCM_16") as f:
        f.write(np.full(48000, 0.5, np.float32))
    # claim two hours in the header without writing them: a sparse file
    with path.open("r+b") as f:
        data_bytes = 2 * 48000 * 7199
        f.seek(4)
        f.write((36 + data_bytes).to_bytes(4, "little"))
        f.seek(40)
        f.write(data_bytes.to_bytes(4, "little"))
        f.truncate(44 + data_bytes)
    with pytest.raises(AudioFileError, match=r"set\.wav: 346 million samples \(2\.0 h at 48000 Hz, "
                       r"1 channel\(s\)\) are more than drumjam holds at once \(172\.8 million\)"):
        load_audio(path)
    rate, duration_s, _ = audio_blocks(path)
    assert (rate, round(duration_s)) == (48000, 7199)
    assert load_audio(path, end_s=2.0)[0].size == 96000  # a part is fine


def _drum_midi(path: Path, last_beat: int) -> bytes:
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000),
                            mido.Message("note_on", channel=9, note=36, velocity=100, time=0),
                            mido.Message("note_off", channel=9, note=36, velocity=0, time=60),
                            mido.Message("note_on", channel=9, note=38, velocity=100,
                                         time=last_beat * 480 - 60),
                            mido.Message("note_off", channel=9, note=38, velocity=0, time=60)])
    mido.MidiFile(tracks=[track], ticks_per_beat=480).save(path)
    return path.read_bytes()


def test_an_upload_longer_than_the_backing_limit_is_refused_before_rendering(tmp_path: Path) -> None:
    # a drum part three hours long (two notes): its silent backing would be 3 hours of audio
    data = _drum_midi(tmp_path / "far.mid", 3 * 3600 * 2)
    (tmp_path / "work").mkdir()
    with pytest.raises(FileFormatError, match=r"far\.mid: its drum part lasts 3\.0 h, longer than "
                       r"the 2 hours of backing audio drumjam makes"):
        prepare_song("far.mid", data, None, tmp_path / "work")


def test_a_drum_only_upload_gets_a_silent_backing_written_in_blocks(tmp_path: Path) -> None:
    data = _drum_midi(tmp_path / "beat.mid", 2 * 300)  # five minutes
    (tmp_path / "work").mkdir()
    made = prepare_song("beat.mid", data, None, tmp_path / "work")
    chart = read_chart(tmp_path / "beat.mid")
    info = sf.info(str(tmp_path / "work" / made.audio))
    assert chart.duration_s == pytest.approx(300.0, abs=0.2)
    assert info.duration == pytest.approx(max(chart.beatmap.end_s, chart.duration_s) + 1.0, abs=0.01)
    assert sf.read(tmp_path / "work" / made.audio)[0].max() < 1e-3


def _drum_bars(seconds: float, sr: int) -> np.ndarray:
    """A groove at 120 BPM: kick on 1 and 3, snare on 2 and 4, hi-hat eighths (mono)."""
    rng = np.random.default_rng(3)
    t = np.arange(int(0.15 * sr)) / sr
    kick = 0.8 * np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.05)
    snare = 0.4 * rng.standard_normal(t.size) * np.exp(-t / 0.04)
    hat = 0.15 * np.diff(rng.standard_normal(t.size + 1)) * np.exp(-t / 0.01)
    bar = np.zeros(2 * sr)
    for eighth in range(8):
        at = eighth * sr // 4
        drum = kick if eighth % 4 == 0 else snare if eighth % 4 == 2 else 0.0
        bar[at:at + t.size] += hat + drum
    return np.tile(bar, int(np.ceil(seconds / 2)))[:int(seconds * sr)].astype(np.float32)


def test_the_analysis_does_not_depend_on_how_the_audio_is_cut() -> None:
    from drumjam.analysis.tracker import beatmap_of, listen

    sr = 44100  # resampled to the analysis rate as the blocks come
    noise = 0.01 * np.random.default_rng(0).standard_normal(41 * sr).astype(np.float32)
    y = _drum_bars(41.0, sr) + noise
    cuts = np.r_[0, np.cumsum(np.random.default_rng(1).integers(1, int(1.3 * sr), 200)), y.size]
    cuts = np.unique(np.clip(cuts, 0, y.size))
    ragged = listen((y[a:b] for a, b in zip(cuts, cuts[1:])), sr)
    whole = listen([y], sr)
    for got, want in ((ragged.env.onset, whole.env.onset), (ragged.env.bands, whole.env.bands),
                      (ragged.network, whole.network), (ragged.kit, whole.kit)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_array_equal(ragged.env.mel_db, whole.env.mel_db)
    a, b = beatmap_of(ragged), beatmap_of(whole)
    np.testing.assert_allclose(a.beats_s, b.beats_s, atol=1e-9)
    assert a.tempo_bpm == pytest.approx(120.0, rel=0.01)


ANALYSE_A_LONG_SONG = """
import sys
from drumjam.analysis import analyse_audio

def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

analyse_audio(sys.argv[1], use_cache=False)  # warm up: imports, models, a block's working memory
start = hwm_mb()
beatmap = analyse_audio(sys.argv[2], use_cache=False)
print(start, hwm_mb(), beatmap.tempo_bpm)
"""


def test_a_long_song_is_analysed_without_holding_its_audio(tmp_path: Path) -> None:
    """Twenty minutes of a groove (106 MB of samples at the analysis rate, which the analysis
    used to hold with its 66 MB mel spectrogram): analysing it grows the process by only its
    frame-rate outputs, far less than the samples."""
    sr, minutes = 22050, 20
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    minute = _drum_bars(60.0, sr)
    sf.write(short, minute, sr, subtype="PCM_16")
    with sf.SoundFile(long, "w", sr, 1, subtype="PCM_16") as f:
        for _ in range(minutes):
            f.write(minute)
    done = subprocess.run([sys.executable, "-c", ANALYSE_A_LONG_SONG, str(short), str(long)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    start_mb, peak_mb, tempo_bpm = map(float, done.stdout.split())
    samples_mb = minutes * 60 * sr * 4 / 2**20
    assert tempo_bpm == pytest.approx(120.0, rel=0.01)
    assert peak_mb - start_mb < 0.6 * samples_mb, f"grew {peak_mb - start_mb:.0f} MB"


def _tone_and_clicks(seconds: float, sr: int) -> np.ndarray:
    """A steady two-note tone with a click every half second, ``(frames, 2)``."""
    t = np.arange(int(seconds * sr)) / sr
    x = 0.1 * np.sin(2 * np.pi * 220 * t) + 0.05 * np.sin(2 * np.pi * 331 * t)
    for k in range(int(seconds * 2)):
        x[k * sr // 2:k * sr // 2 + 40] += np.hanning(40)
    return np.stack([x, 0.8 * x], axis=1).astype(np.float32)


@pytest.mark.parametrize("speed", [0.8, 1.3])
def test_a_practice_speed_is_stretched_in_blocks_joined_without_a_seam(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, speed: float) -> None:
    import pedalboard

    from drumjam.library import media

    sr = 16000
    x = _tone_and_clicks(31.0, sr)
    whole = pedalboard.time_stretch(x.T.copy(), sr, stretch_factor=speed).T
    np.testing.assert_array_equal(np.concatenate(list(media.stretch_blocks([x], sr, speed))), whole)
    sf.write(tmp_path / "song.wav", x, sr, subtype="FLOAT")
    monkeypatch.setattr(media, "STRETCH_BLOCK_S", 4.3)  # seven joins, most between clicks
    made = media.stretched_audio(tmp_path / "song.wav", speed, cache_dir=tmp_path, key="s")
    y, got_sr = sf.read(made, dtype="float32")
    assert got_sr == sr and y.shape == (round(x.shape[0] / speed), 2)
    # the tone between the clicks keeps its level across every join (no gap, no doubling)
    # (two blocks' stretches of a tone differ in phase: crossfaded as they come, they dipped
    # by 9 dB; joined without a crossfade, the waveform jumped by 0.1-0.3)
    level_db = 10 * np.log10(0.1 ** 2 / 2 + 0.05 ** 2 / 2)
    worst_db = jump = 0.0
    for k in range(61):
        between = y[int((k * 0.5 + 0.1) / speed * sr):int((k * 0.5 + 0.4) / speed * sr), 0]
        frames = between[:between.size // 320 * 320].reshape(-1, 320)  # 20 ms
        rms_db = 10 * np.log10(np.mean(frames ** 2, axis=1))
        worst_db = max(worst_db, float(np.max(np.abs(rms_db - level_db))))
        jump = max(jump, float(np.max(np.abs(np.diff(between, 2)))))
    assert worst_db < 1.5 and jump < 0.01, (worst_db, jump)
    # every click where the stretch puts it, as in one stretch of the whole song (within 40 ms)
    rise = np.abs(np.diff(y[:, 0]))
    for k in range(1, 61):
        at = k * 0.5 / speed * sr
        found = int(np.argmax(rise[int(at - 0.1 * sr):int(at + 0.1 * sr)])) + int(at - 0.1 * sr)
        assert abs(found - at) / sr < 0.04, (k, (found - at) / sr)


STRETCH_A_LONG_SONG = """
import sys
from pathlib import Path
from drumjam.library import media

def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

folder = Path(sys.argv[1])
media.STRETCH_BLOCK_S = 20.0
media.stretched_audio(folder / "short.wav", 0.8, cache_dir=folder, key="short")  # warm up
start = hwm_mb()
media.stretched_audio(folder / "long.wav", 0.8, cache_dir=folder, key="long")
print(start, hwm_mb())
"""


def test_a_long_song_is_stretched_in_flat_memory(tmp_path: Path) -> None:
    """Eight minutes at 8 kHz (15 MB of samples, 19 MB stretched; stretched whole, the process
    grew by 75 MB): stretching it grows the process by less than twice its samples (it grows
    by about as much as its samples: one CI run measured 15 MB against a limit of 14.6)."""
    sr = 8000
    minute = _tone_and_clicks(60.0, sr)[:, 0]
    sf.write(tmp_path / "short.wav", np.tile(minute, 2), sr, subtype="PCM_16")
    sf.write(tmp_path / "long.wav", np.tile(minute, 8), sr, subtype="PCM_16")
    done = subprocess.run([sys.executable, "-c", STRETCH_A_LONG_SONG, str(tmp_path)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    start_mb, peak_mb = map(float, done.stdout.split())
    assert sf.info(str(tmp_path / "long-80.ogg")).frames == 8 * 60 * sr / 0.8
    assert peak_mb - start_mb < 2 * 8 * 60 * sr * 4 / 2**20, f"grew {peak_mb - start_mb:.0f} MB"


def test_a_mapped_song_equals_the_song_read_whole(tmp_path: Path) -> None:
    from drumjam.io.audio import mapped_audio

    path = tmp_path / "song.wav"
    sf.write(path, _groove(7.0, 22050), 22050, subtype="FLOAT")
    mapped = mapped_audio(path, sample_rate=48000, end_s=5.0)
    assert isinstance(mapped, np.memmap) and not mapped.flags.writeable
    np.testing.assert_array_equal(mapped, load_audio(path, sample_rate=48000, end_s=5.0)[0])
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(8000, np.float32), 8000)
    with pytest.raises(AudioFileError, match=r"silent\.wav: the audio is silent"):
        mapped_audio(silent, sample_rate=8000)


MAP_A_LONG_SONG = """
import sys
import numpy as np
from drumjam.io.audio import mapped_audio

def anon_mb():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024

mapped_audio(sys.argv[1], sample_rate=48000, end_s=5.0)  # warm up: imports, the decoder
start = anon_mb()
song = mapped_audio(sys.argv[1], sample_rate=48000)
total = sum(float(np.abs(song[i:i + 48000]).sum()) for i in range(0, song.size, 48000))
print(start, anon_mb(), song.size, total > 0)
"""


def test_a_long_song_mapped_for_a_microphone_is_not_held(tmp_path: Path) -> None:
    """Ten minutes at 48 kHz (115 MB as float32), decoded and all read through: the process's
    own memory grows by a few blocks."""
    path = tmp_path / "song.wav"
    with sf.SoundFile(path, "w", 16000, 1, subtype="PCM_16") as f:
        for _ in range(10):
            f.write(_groove(60.0, 16000, channels=1))
    done = subprocess.run([sys.executable, "-c", MAP_A_LONG_SONG, str(path)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    start_mb, end_mb, size, read = done.stdout.split()
    assert int(size) == 600 * 48000 and read == "True"
    assert float(end_mb) - float(start_mb) < 20, f"grew {float(end_mb) - float(start_mb):.0f} MB"


def test_a_room_microphone_cancels_a_mapped_song(tmp_path: Path) -> None:
    from room_support import groove_song

    from drumjam.session.rooms import Room
    from drumjam.web.protocol import MicStartMessage
    from drumjam.web.room_mic import end_room_mic, start_room_mic
    from drumjam.web.state import BleedMemory

    song = groove_song(bars=4)
    path = tmp_path / "song.wav"
    sf.write(path, _groove(song.beatmap.end_s + 5.0, 44100, channels=2), 44100)
    room = Room(replace(song, audio_path=path), "Ann", 0.0)
    room.start(0.0)
    mics: dict = {}
    own, _ = start_room_mic(room, room.seats[0], MicStartMessage(
        type="mic_start", sample_rate=48000, timeline_zero_frame=0), None, BleedMemory(stored=False), mics)
    assert "the backing track's and the clicks' bleed is cancelled" in own[-1]
    assert "A" in mics
    end_room_mic(room, room.seats[0], mics)
