import numpy as np
import pytest

from paperlib.core.config import Config
from paperlib.data.audio import AudioError, fit_to_clip, load_clip, read_audio
from tests.conftest import write_tone

KW = dict(sample_rate=22050, clip_seconds=30.0, min_clip_seconds=4.0)


def test_a_29_9_second_clip_is_padded_to_30(tmp_path):
    audio = load_clip(write_tone(tmp_path / "a.wav", seconds=29.9), **KW)
    assert len(audio) == 661500 and np.all(audio[-2000:] == 0)


def test_a_clip_is_loaded_with_a_configs_numbers_or_keywords_that_override_them(tmp_path):
    path = write_tone(tmp_path / "a.wav", seconds=29.9)
    assert np.array_equal(load_clip(path, Config()), load_clip(path, **KW))
    assert len(load_clip(path, Config(), clip_seconds=10.0)) == 220500
    with pytest.raises(TypeError, match="a config or min_clip_seconds"):
        load_clip(path, sample_rate=22050, clip_seconds=30.0)


def test_a_long_clip_keeps_its_centre():
    audio = np.arange(40 * 22050, dtype=np.float32)
    out = fit_to_clip(audio, sample_rate=22050, clip_seconds=30.0, min_clip_seconds=4.0)
    assert len(out) == 661500 and out[0] == 5 * 22050


def test_a_short_clip_is_refused_with_its_length(tmp_path):
    with pytest.raises(AudioError, match=r"lasts 3.00 s, under the minimum of 4 s"):
        load_clip(write_tone(tmp_path / "short.wav", seconds=3.0), **KW)


def test_a_corrupt_file_is_named(tmp_path):
    bad = tmp_path / "jazz.00054.wav"
    bad.write_bytes(b"RIFF....WAVEfmt garbage" * 10)
    with pytest.raises(AudioError, match=r"Cannot decode .*jazz.00054.wav"):
        read_audio(bad, sample_rate=22050)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(AudioError, match="does not exist"):
        read_audio(tmp_path / "nope.wav", sample_rate=22050)


def test_other_rates_and_stereo_are_converted(tmp_path):
    path = write_tone(tmp_path / "s.wav", seconds=5.0, sample_rate=44100, channels=2)
    audio, native = read_audio(path, sample_rate=22050)
    assert native == 44100 and audio.ndim == 1 and abs(len(audio) - 5 * 22050) <= 2


def test_au_files_are_read(tmp_path):
    path = tmp_path / "blues.00000.au"
    write_tone(path, seconds=5.0)
    audio, native = read_audio(path, sample_rate=22050)
    assert native == 22050 and len(audio) == 5 * 22050
