"""The paper's image input: Kaggle-style PNGs rendered from log-mel images, read back as tokens."""

import warnings

import numpy as np
import pytest

from paperlib.core.config import Config
from paperlib.data.dataset import DatasetError, load_dataset
from paperlib.data.features import to_grayscale
from paperlib.data.spectrogram_images import (
    KAGGLE_SIZE,
    ImageError,
    image_name,
    read_png,
    render_png,
)
from paperlib.data.token_cache import extract_images
from tests.conftest import write_tone


@pytest.fixture
def pattern():
    """A log-mel image with a loud low band (rows 10-29) and a loud moment (frames 200-204)."""
    config = Config()
    db = -80 + 20 * np.random.default_rng(0).random((config.n_mels, config.n_frames))
    db[10:30, :] = -5
    db[:, 200:205] = 0
    return config, db


def test_a_rendered_plot_reads_back_as_the_same_image(tmp_path, pattern):
    config, db = pattern
    from PIL import Image

    path = render_png(db, tmp_path / "blues00000.png", config)
    with Image.open(path) as image:
        assert image.size == KAGGLE_SIZE
    gray = read_png(path, config)
    assert gray.shape == (config.n_mels, config.n_frames) and gray.dtype == np.uint8
    assert gray[10:30].mean() > 180 > 60 > gray[60:].mean()  # low frequencies first, like audio
    loud_frames = np.flatnonzero(gray[60:].mean(axis=0) > 150)
    assert loud_frames.min() >= 198 and loud_frames.max() <= 206
    reference = to_grayscale(db).astype(float).ravel()
    assert np.corrcoef(gray.astype(float).ravel(), reference)[0, 1] > 0.75


def test_unreadable_and_blank_images_are_refused(tmp_path):
    from PIL import Image

    config = Config()
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ImageError, match="Cannot read image .*bad.png"):
        read_png(bad, config)
    blank = tmp_path / "blank.png"
    Image.new("RGB", KAGGLE_SIZE, "white").save(blank)
    with pytest.raises(ImageError, match="no spectrogram plot"):
        read_png(blank, config)


def _kaggle_folder(root, config, *, images=True):
    """Data/genres_original (tones) and, if asked, Data/images_original (their rendered plots)."""
    from paperlib.data.audio import load_clip
    from paperlib.data.features import log_mel_db

    for genre, freq in (("blues", 220.0), ("jazz", 880.0)):
        for number in range(2):
            clip = write_tone(root / "Data" / "genres_original" / genre / f"{genre}.0000{number}.wav",
                              seconds=30.0, freq=freq * (number + 1))
            if images and (genre, number) != ("jazz", 1):  # Kaggle lacks an image or two
                db = log_mel_db(load_clip(clip, sample_rate=config.sample_rate, clip_seconds=30.0,
                                              min_clip_seconds=4.0), config)
                render_png(db, root / "Data" / "images_original" / genre /
                           image_name(f"{genre}.0000{number}"), config)
    return root


def test_images_source_reads_the_pngs_and_skips_clips_without_one(tmp_path):
    config = Config(dataset="gtzan", data_dir=str(tmp_path / "kaggle"), source="images",
                         folds=2, clips_per_genre=2, workers=1)
    _kaggle_folder(tmp_path / "kaggle", config)
    dataset = load_dataset(config, progress=False)
    assert dataset.tracks["image"].isna().tolist() == [False, False, False, True]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from_images = extract_images(dataset, config, progress=False)
    assert from_images.track_ids == ["blues.00000", "blues.00001", "jazz.00000"]
    assert any("jazz.00001" in str(w.message) and "no spectrogram image" in str(w.message)
               for w in caught)
    audio_config = config.replace(source="audio")
    from_audio = extract_images(load_dataset(audio_config, progress=False), audio_config,
                                progress=False)
    assert len(from_audio.track_ids) == 4  # another cache entry: the source is in the key
    for a, b in zip(from_images.images, from_audio.images[:3]):  # the same tone, the same band
        assert np.corrcoef(a.astype(float).ravel(), b.astype(float).ravel())[0, 1] > 0.9
        assert abs(int(a.mean(axis=1).argmax()) - int(b.mean(axis=1).argmax())) <= 1
    np.testing.assert_allclose(from_images.mfcc_stats, from_audio.mfcc_stats[:3], rtol=1e-5)


def test_images_source_without_the_images_folder_says_what_to_do(tmp_path):
    config = Config(dataset="gtzan", data_dir=str(tmp_path / "kaggle"), source="images",
                         folds=2, clips_per_genre=2)
    _kaggle_folder(tmp_path / "kaggle", config, images=False)
    with pytest.raises(DatasetError, match="images_original/ folder beside"):
        load_dataset(config, progress=False)


def test_images_source_is_refused_for_the_synthetic_dataset():
    with pytest.raises(ValueError, match="source='images' is invalid"):
        Config(source="images")


def test_a_query_is_imaged_as_the_run_was_trained(pattern):
    from paperlib.data.spectrogram_images import image_like_source

    config, db = pattern
    assert (image_like_source(db, config) == to_grayscale(db)).all()
    images_config = config.replace(dataset="gtzan", data_dir="x", source="images")
    drawn = image_like_source(db, images_config)
    assert drawn.shape == (config.n_mels, config.n_frames) and not (drawn == to_grayscale(db)).all()
    assert np.corrcoef(drawn.astype(float).ravel(), to_grayscale(db).astype(float).ravel())[0, 1] > 0.75
