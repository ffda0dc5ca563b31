"""A song with drums whose drum part is known: a built-in song's drum chart rendered with a
sampled kit and mixed into its backing track (bass and piano)."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from drumjam.io.audio import load_audio
from drumjam.io.midi import read_chart
from drumjam.io.render import render_events
from drumjam.library import builtin_dir
from drumjam.model import Chart

#: Level of the backing track under the drums.
BACKING_GAIN = 0.7


def song_with_drums(song_id: str, *, sample_rate: int = 44100) -> tuple[bytes, Chart]:
    """The mix as mono 16-bit WAV bytes, and the drum chart played in it."""
    folder = builtin_dir() / song_id
    chart = read_chart(folder / "chart.mid")
    drums, sr = render_events(chart, soundfont="black_pearl", sample_rate=sample_rate, mono=True)
    backing, _ = load_audio(folder / "backing.ogg", sample_rate=sr, mono=True)
    mix = np.zeros(max(drums.size, backing.size), np.float32)
    mix[:drums.size] += drums
    mix[:backing.size] += BACKING_GAIN * backing
    mix *= 0.9 / max(1e-6, float(np.max(np.abs(mix))))
    buf = io.BytesIO()
    sf.write(buf, mix, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue(), chart
