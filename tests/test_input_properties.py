"""Whatever bytes a file holds, reading it gives usable data or the project's own error, in bounded
time and memory (hypothesis, derandomized and without a database, so CI is deterministic): audio of
every format soundfile writes here, mutated and truncated; Kaggle's PNGs; a run's track table."""

from __future__ import annotations

import io
import signal
import struct
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperlib.core.config import Config
from paperlib.core.run_folder import RunFolderError, open_run
from paperlib.data.audio import MAX_FRAMES, AudioError, read_audio
from paperlib.data.spectrogram_images import ImageError, read_png

RATE = 22050
BOUNDED = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SECONDS_PER_FILE = 30  # a hang is a failure; reading any of these files takes well under a second
MEMORY_PER_FILE = 256 * 2**20  # bytes Python and NumPy may allocate to read one small file

# (extension, soundfile format, subtype): every format soundfile both writes and reads here
FORMATS = [("wav", "WAV", "PCM_16"), ("wav", "WAV", "FLOAT"), ("aiff", "AIFF", "PCM_16"),
           ("au", "AU", "PCM_16"), ("flac", "FLAC", "PCM_16"), ("ogg", "OGG", "VORBIS"),
           ("mp3", "MP3", "MPEG_LAYER_III")]


def encoded(fmt: str, subtype: str, *, seconds: float = 0.5, channels: int = 2) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    audio = np.stack([0.3 * np.sin(2 * np.pi * 440 * t)] * channels, axis=1)
    buffer = io.BytesIO()
    sf.write(buffer, audio, RATE, format=fmt, subtype=subtype)
    return buffer.getvalue()


VALID = {(ext, subtype): encoded(fmt, subtype) for ext, fmt, subtype in FORMATS}


class Hung(BaseException):
    """Raised by the alarm: a BaseException, so no reader's `except Exception` can swallow it."""


@pytest.fixture(scope="module", autouse=True)
def decoders_imported():
    """Import the decoders before any time or memory is counted."""
    import librosa
    import PIL.Image  # noqa: F401

    for name in ("load", "get_duration", "get_samplerate", "resample"):  # librosa loads lazily
        getattr(librosa, name)


@contextmanager
def bounded(what: str):
    """Fail when reading takes over SECONDS_PER_FILE or allocates over MEMORY_PER_FILE."""
    def hung(*_):
        raise Hung(f"reading {what} took over {SECONDS_PER_FILE} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(SECONDS_PER_FILE)
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
        assert peak < MEMORY_PER_FILE, f"reading {what} allocated {peak / 2**20:.0f} MB"
    finally:
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def audio_or_audio_error(path: Path) -> np.ndarray | None:
    """The read's result (None for an AudioError); anything else fails the test."""
    with bounded(path.name):
        try:
            audio, rate = read_audio(path, sample_rate=RATE)
        except AudioError as exc:
            assert str(path) in str(exc), "the error names the file"
            return None
    assert audio.dtype == np.float32 and audio.ndim == 1 and audio.size > 0
    assert np.isfinite(audio).all() and rate > 0
    assert audio.size <= MAX_FRAMES * RATE / 1000 + 1  # the slowest rate read, resampled
    return audio


def test_every_format_reads_before_mutation(tmp_path):
    for (ext, subtype), data in VALID.items():
        path = tmp_path / f"clip-{subtype}.{ext}"
        path.write_bytes(data)
        audio = audio_or_audio_error(path)
        assert audio is not None and abs(audio.size - RATE // 2) < RATE // 10, (ext, subtype)


@BOUNDED
@given(data=st.binary(max_size=4096), ext=st.sampled_from(["wav", "au", "aiff", "flac", "ogg", "mp3", "bin"]))
def test_random_bytes_give_audio_or_an_audio_error(tmp_path, data, ext):
    path = tmp_path / f"random.{ext}"
    path.write_bytes(data)
    audio_or_audio_error(path)


@BOUNDED
@given(which=st.sampled_from(sorted(VALID)),
       changes=st.lists(st.tuples(st.integers(0, 95), st.integers(0, 255)), min_size=1, max_size=6))
def test_mutated_headers_give_audio_or_an_audio_error(tmp_path, which, changes):
    data = bytearray(VALID[which])
    for position, value in changes:
        data[position % len(data)] = value
    path = tmp_path / f"mutated.{which[0]}"
    path.write_bytes(bytes(data))
    audio_or_audio_error(path)


@BOUNDED
@given(which=st.sampled_from(sorted(VALID)), keep=st.floats(0, 1))
def test_truncated_files_give_audio_or_an_audio_error(tmp_path, which, keep):
    data = VALID[which]
    path = tmp_path / f"truncated.{which[0]}"
    path.write_bytes(data[:int(keep * len(data))])
    audio_or_audio_error(path)


def _wav_with(**fields: int) -> bytes:
    """A mono 16-bit WAV whose header fields are set by hand (sample_rate, channels, data_size)."""
    samples = (np.sin(np.arange(RATE) / 10) * 20000).astype("<i2").tobytes()
    channels, rate = fields.get("channels", 1), fields.get("sample_rate", RATE)
    size = fields.get("data_size", len(samples))
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * max(channels, 1) % 2**32,
                      2 * max(channels, 1) % 2**16, 16)
    return (b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVEfmt " + struct.pack("<I", 16)
            + fmt + b"data" + struct.pack("<I", size) + samples)


@pytest.mark.parametrize("fields", [
    {"sample_rate": 0}, {"sample_rate": 1}, {"sample_rate": 2**32 - 1}, {"channels": 0},
    {"channels": 65535}, {"data_size": 2**32 - 1}, {"data_size": 0}])
def test_absurd_wav_headers_are_refused_or_read_within_bounds(tmp_path, fields):
    path = tmp_path / "odd.wav"
    path.write_bytes(_wav_with(**fields))
    audio = audio_or_audio_error(path)
    if fields.get("sample_rate") == 0:
        assert audio is None


def test_headers_no_recording_has_are_refused_before_reading(tmp_path):
    from paperlib.data.audio import check_header

    path = tmp_path / "x.wav"
    check_header(path, 44100, 2, 44100 * 600)  # ten minutes of CD audio: fine
    for rate, channels, frames, words in [(0, 1, 10, "sample rate"), (10**7, 1, 10, "sample rate"),
                                          (44100, 0, 10, "channels"), (44100, 1000, 10, "channels"),
                                          (8000, 1, 10**12, "hours")]:
        with pytest.raises(AudioError, match=words):
            check_header(path, rate, channels, frames)


# --- Kaggle's PNGs and the run's track table ----------------------------------------------------

@BOUNDED
@given(data=st.binary(max_size=2048))
def test_random_png_bytes_give_an_image_error(tmp_path, data):
    path = tmp_path / "blues00000.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + data)
    with bounded(path.name), pytest.raises(ImageError):
        read_png(path, Config())


def test_a_png_claiming_a_huge_canvas_is_refused(tmp_path):
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 5000, 5000, 8, 2, 0, 0, 0)  # 25 M pixels: under PIL's own limit
    path = tmp_path / "blues00001.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b""))
    with bounded(path.name), pytest.raises(ImageError, match="5000 x 5000"):
        read_png(path, Config())


def test_a_flac_claiming_billions_of_samples_reads_what_it_holds(tmp_path):
    data = bytearray(VALID[("flac", "PCM_16")])
    assert data[:4] == b"fLaC"
    data[21] |= 0x0F  # STREAMINFO's 36-bit total_samples: its top 4 bits ...
    data[22:26] = b"\xff\xff\xff\xff"  # ... and the rest: 2^36 - 1 samples claimed
    path = tmp_path / "claims.flac"
    path.write_bytes(bytes(data))
    audio = audio_or_audio_error(path)
    assert audio is None or audio.size <= RATE  # half a second encoded: never more than it holds


@BOUNDED
@given(data=st.binary(max_size=2048) | st.text(max_size=500).map(str.encode))
def test_a_damaged_track_table_gives_a_run_folder_error(tmp_path, data):
    run = open_run(Config(run_dir=str(tmp_path / "run")))
    run.path_of("tracks").write_bytes(data)
    with bounded("tracks.csv"):
        try:
            table = run.load_table("tracks")
        except RunFolderError as exc:
            assert "tracks.csv" in str(exc)
            return
    assert isinstance(table, pd.DataFrame)
