import numpy as np
import pytest

from paperlib.core.config import Config
from paperlib.data.features import (
    covering_tokens,
    cut_tokens,
    log_mel_db,
    mfcc_statistics,
    to_grayscale,
    token_seconds,
    token_starts,
)


def test_token_starts_match_the_design():
    assert token_starts(Config()).tolist() == [0, 32, 64, 97, 129, 161, 193, 226, 258, 290]


def test_tokens_are_about_four_seconds_with_about_one_second_overlap():
    windows = token_seconds(Config())
    lengths = windows[:, 1] - windows[:, 0]
    overlaps = windows[:-1, 1] - windows[1:, 0]
    assert np.allclose(lengths, 3.94, atol=0.05)
    assert np.all((overlaps > 0.9) & (overlaps < 1.2))
    assert windows[0, 0] == 0 and windows[-1, 1] == pytest.approx(30.0, abs=0.1)


def test_geometry_is_configuration():
    config = Config(n_tokens=5, token_frames=40)
    assert len(token_starts(config)) == 5 and token_starts(config)[-1] == config.n_frames - 40


def test_covering_tokens_hold_the_midpoint():
    config = Config()
    assert covering_tokens(0.5, 2.5, config) == [0]
    assert covering_tokens(2.5, 4.5, config) == [0, 1]  # midpoint 3.5 s is in tokens 0 and 1
    assert covering_tokens(27.0, 29.5, config) == [9]


def test_image_shape_and_range():
    config = Config()
    rng = np.random.default_rng(0)
    db = log_mel_db(rng.standard_normal(config.clip_samples).astype(np.float32), config)
    image = to_grayscale(db)
    assert image.shape == (217, 335) and image.dtype == np.uint8 and image.max() == 255
    assert mfcc_statistics(db).shape == (40,)


def test_cut_tokens_are_slices_of_the_image():
    config = Config()
    images = np.random.default_rng(1).integers(0, 256, (2, 217, 335), dtype=np.uint8)
    tokens = cut_tokens(images, config)
    assert tokens.shape == (2, 10, 217, 45) and tokens.dtype == np.float32
    start = token_starts(config)[3]
    assert np.array_equal(tokens[1, 3], images[1, :, start:start + 45] / np.float32(255))


def test_cut_tokens_refuses_other_shapes():
    with pytest.raises(ValueError, match="Expected images of shape"):
        cut_tokens(np.zeros((1, 217, 300), np.uint8), Config())
