import json
import warnings

import pytest

from paperlib.core.config import Config
from paperlib.core.registry import artifact
from paperlib.data.audio import AudioError
from paperlib.data.dataset import load_dataset
from paperlib.data.token_cache import cache_file, extract_images
from tests.conftest import write_tone


@pytest.fixture
def gtzan_like(tmp_path, monkeypatch):
    monkeypatch.setenv("GENRE_SIGNATURES_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "gtzan" / "genres"
    for g in ("blues", "rock"):
        for i in range(3):
            write_tone(root / g / f"{g}.{i:05d}.au", seconds=29.9, freq=200 + 50 * i)
    return root


def test_extraction_then_cache_hit(gtzan_like):
    config = Config(dataset="gtzan", data_dir=str(gtzan_like), folds=2, workers=1)
    dataset = load_dataset(config)
    first = extract_images(dataset, config, progress=False)
    assert first.images.shape == (6, 217, 335) and not first.cache_hit
    assert cache_file(dataset, config).is_file()
    second = extract_images(dataset, config, progress=False)
    assert second.cache_hit and (second.images == first.images).all()
    other = Config(dataset="gtzan", data_dir=str(gtzan_like), folds=2, n_mels=128, workers=1)
    assert cache_file(dataset, other) != cache_file(dataset, config)


def test_bad_clips_are_skipped_with_a_warning_naming_them(gtzan_like):
    (gtzan_like / "rock" / "rock.00001.au").unlink()
    (gtzan_like / "rock" / "rock.00001.wav").write_bytes(b"RIFF\x00\x00WAVEfmt broken" * 100)
    write_tone(gtzan_like / "rock" / "rock.00002.au", seconds=2.0)
    config = Config(dataset="gtzan", data_dir=str(gtzan_like), folds=2, workers=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = extract_images(load_dataset(config), config, progress=False)
    messages = " ".join(str(w.message) for w in caught)
    assert "rock.00001" in messages and "Cannot decode" in messages
    assert "rock.00002" in messages and "under the minimum" in messages
    assert result.track_ids == ["blues.00000", "blues.00001", "blues.00002", "rock.00000"]


@pytest.mark.slow  # a process pool of 2 workers starts (the bug was in a worker)
def test_a_wav_whose_header_says_zero_hz_is_skipped_by_name(gtzan_like):
    import struct

    (gtzan_like / "blues" / "blues.00001.au").unlink()
    wav = gtzan_like / "blues" / "blues.00001.wav"
    write_tone(wav, seconds=29.9)
    data = bytearray(wav.read_bytes())
    data[24:28] = struct.pack("<I", 0)  # the sample rate field: 0 (once a ZeroDivisionError in a worker)
    wav.write_bytes(bytes(data))
    config = Config(dataset="gtzan", data_dir=str(gtzan_like), folds=2, workers=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = extract_images(load_dataset(config), config, progress=False)
    assert "blues.00001" in " ".join(str(w.message) for w in caught)
    assert "blues.00001" not in result.track_ids and len(result.track_ids) == 5


def test_nothing_usable_is_an_error(gtzan_like):
    for path in gtzan_like.rglob("*.au"):
        path.write_bytes(b"junk")
    config = Config(dataset="gtzan", data_dir=str(gtzan_like), folds=2, workers=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AudioError, match="No usable clip"):
            extract_images(load_dataset(config), config, progress=False)


def test_a_genre_with_no_readable_file_is_named(gtzan_like, tmp_path):
    from paperlib.data.dataset import DatasetError
    from paperlib.data.prepare import prepare_data

    for path in (gtzan_like / "rock").glob("*.au"):
        path.write_bytes(b"junk")
    config = Config(dataset="gtzan", data_dir=str(gtzan_like), folds=2, workers=1,
                         run_dir=str(tmp_path / "run"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DatasetError, match=r"No readable clip in genre folder\(s\) \['rock'\].*"
                                               r"rock.00000: Cannot decode"):
            prepare_data(config, progress=False)
    assert not (tmp_path / "run" / artifact("features").relative()).exists()
    assert "dataset_fingerprint" not in json.loads((tmp_path / "run" / artifact("manifest").relative()).read_text())
