"""Attention analysis (section 3.4) on hand-made attention arrays and embeddings."""

import numpy as np
import pandas as pd
import pytest

from paperlib.analysis.attention import (
    above_chance_p,
    ending_share,
    example_table,
    first_occurrence_share,
    first_occurrence_table,
    mean_attention_by_genre,
    peak_table,
    peak_tokens,
    recovery,
    sample_examples,
)
from paperlib.core.config import Config
from paperlib.data.features import token_seconds


def one_hot_attention(peaks, n_tokens=10):
    attention = np.full((len(peaks), n_tokens), 0.5 / (n_tokens - 1))
    attention[np.arange(len(peaks)), peaks] = 0.5
    return attention


def test_sample_examples_is_deterministic_and_stratified():
    tracks = pd.DataFrame({"genre": ["a"] * 8 + ["b"] * 6 + ["c"] * 2})
    first = sample_examples(tracks, per_genre=3, seed=7)
    assert np.array_equal(first, sample_examples(tracks, per_genre=3, seed=7))
    genres = tracks["genre"].to_numpy()[first]
    assert list(genres) == ["a"] * 3 + ["b"] * 3 + ["c"] * 2  # all of a small genre
    assert len(set(first)) == len(first)
    others = {tuple(sample_examples(tracks, per_genre=3, seed=s)) for s in range(10)}
    assert len(others) > 1  # the seed matters
    with pytest.raises(ValueError, match="per_genre"):
        sample_examples(tracks, per_genre=0, seed=0)


def test_mean_attention_and_peak_tables_by_genre():
    attention = one_hot_attention([0, 2, 9, 9], n_tokens=10)
    labels = np.array([0, 0, 3, 3])
    genres = ["blues", "classical", "country", "disco"]
    mean = mean_attention_by_genre(attention, labels, genres)
    assert list(mean.index) == ["blues", "disco"]
    assert mean.loc["blues", 0] == pytest.approx((0.5 + 0.5 / 9) / 2)
    assert mean.loc["disco", 9] == pytest.approx(0.5)
    assert np.allclose(mean.sum(axis=1), 1)
    peaks = peak_table(attention, labels, genres)
    assert peaks.shape == (2, 10)
    assert peaks.loc["blues", 0] == 0.5 and peaks.loc["blues", 2] == 0.5 and peaks.loc["disco", 9] == 1
    assert list(peak_tokens(attention)) == [0, 2, 9, 9]


def test_recovery_and_chance_on_a_tiny_example():
    # clip 0: peak 3 in "3;4" (hit); 1: peak 5 not in "2" (miss); 2: peak 7 in "7" (hit, but misclassified)
    # clip 3: peak 1 in "0;1" (hit)
    attention = one_hot_attention([3, 5, 7, 1])
    table = recovery(attention, ["3;4", "2", 7, "0;1"], np.array([True, True, False, True]),
                     genres=["x", "x", "y", "y"])
    overall = table.loc["overall"]
    assert overall["clips"] == 3 and overall["recovered"] == 2
    assert overall["recovery"] == pytest.approx(2 / 3)
    assert overall["chance"] == pytest.approx((0.2 + 0.1 + 0.2) / 3)
    assert table.loc["x", "recovery"] == 0.5 and table.loc["x", "chance"] == pytest.approx(0.15)
    assert table.loc["y", "clips"] == 1 and table.loc["y", "recovery"] == 1.0
    assert list(table.columns) == ["clips", "recovered", "recovery", "chance"]
    with pytest.raises(ValueError, match="motif_tokens"):
        recovery(attention, ["3", "2"], np.ones(4, bool), genres=["x"] * 4)


def test_first_occurrence_share_on_constructed_embeddings():
    a, b, c = np.eye(3)
    # clip 0: tokens 1 and 3 share pattern a; peak at 1 (the first) -> first, group size 2
    # clip 1: tokens 0, 2, 4 share pattern a; peak at 4 (not the first) -> group size 3
    # clip 2: peak's pattern occurs once -> not counted
    embeddings = np.array([
        [b, a, c, 2 * a, b],  # scale does not matter for cosine similarity
        [a, b, a, c, a],
        [a, b, c, a, a],
    ])
    attention = np.array([
        [0.1, 0.6, 0.1, 0.1, 0.1],
        [0.1, 0.1, 0.1, 0.1, 0.6],
        [0.1, 0.1, 0.6, 0.1, 0.1],
    ])
    result = first_occurrence_share(embeddings, attention, similarity=0.9)
    assert result.clips == 2 and result.first == 1
    assert result.share == 0.5
    assert result.chance == pytest.approx((1 / 2 + 1 / 3) / 2)
    near = embeddings.copy()
    near[2, 0] = a + 0.8 * c  # cos(a + 0.8c, c) ~ 0.62: similar only at a low threshold
    assert first_occurrence_share(near, attention, similarity=0.9).clips == 2
    assert first_occurrence_share(near, attention, similarity=0.5).clips == 3
    with pytest.raises(ValueError, match="embeddings"):
        first_occurrence_share(embeddings[:, :4], attention, similarity=0.9)


def test_ending_share_counts_peaks_in_the_last_tokens():
    peaks = [9, 8, 9, 9, 0, 1, 2, 8]
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    table = ending_share(one_hot_attention(peaks), labels, ["blues", "classical"], last=2)
    assert table.loc["classical", "share"] == 1.0 and table.loc["classical", "in_ending"] == 4
    assert table.loc["blues", "share"] == 0.25
    assert (table["chance"] == 0.2).all()
    assert table.loc["classical", "p"] == pytest.approx(0.2 ** 4)
    assert table.loc["blues", "p"] > 0.5
    assert ending_share(one_hot_attention(peaks), labels, ["blues", "classical"],
                        last=8).loc["blues", "share"] == 0.5  # tokens 2..9 hold peaks 2 and 8
    with pytest.raises(ValueError, match="last"):
        ending_share(one_hot_attention(peaks), labels, ["blues", "classical"], last=10)


def test_above_chance_p():
    assert above_chance_p(10, 10, 0.5) == pytest.approx(0.5 ** 10)
    assert above_chance_p(0, 10, 0.5) == 1.0
    assert np.isnan(above_chance_p(0, 0, 0.5))


def test_example_table_marks_peaks_in_the_moment():
    config = Config()
    tracks = pd.DataFrame({"track_id": ["t0", "t1", "t2"], "genre": ["blues", "classical", "blues"],
                           "label": [0, 1, 0], "motif_tokens": ["3;4", "5", "0"]})
    oof = {"attention": one_hot_attention([4, 2, 0]), "genre": np.eye(10)[[0, 0, 0]]}
    table = example_table(tracks, oof, np.array([0, 1]), config)
    assert table["track_id"].tolist() == ["t0", "t1"]
    assert table["correct"].tolist() == [True, False]
    assert table["predicted"].tolist() == ["blues", "blues"]
    assert table["peak_in_moment"].tolist() == [True, False]
    assert table.loc[0, "peak_start_s"] == pytest.approx(token_seconds(config)[4, 0])


def test_first_occurrence_table_has_one_row_per_threshold():
    a, c = np.eye(2)
    embeddings = np.array([[a, a, c, a], [c, a, a, c]])
    attention = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]])
    table = first_occurrence_table(embeddings, attention, thresholds=[0.5, 0.99])
    assert list(table.index) == [0.5, 0.99]
    assert table.loc[0.5, "clips"] == 2 and table.loc[0.5, "first"] == 1  # clip 0: first; clip 1: last
    assert table.loc[0.5, "chance"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert 0 < table.loc[0.5, "p"] < 1


def test_attention_figures():
    import matplotlib

    matplotlib.use("Agg")
    from paperlib.figures import plots

    config = Config()
    weights = one_hot_attention([3])[0]
    image = np.zeros((config.n_mels, config.n_frames), np.uint8)
    fig = plots.attention_example(image, weights, config, title="t", moment=(10.0, 12.0))
    bars = fig.axes[1].containers[0]  # the bar container (the moment box is a patch too)
    assert len(fig.axes) == 2 and len(bars) == config.n_tokens
    assert bars[3].get_height() == pytest.approx(0.5)
    picture = plots.as_jpeg(fig, dpi=40)
    assert picture.data[:2] == b"\xff\xd8"  # a JPEG
    heat = plots.genre_token_heatmap(pd.DataFrame(np.eye(2)), title="t", label="x")
    assert heat.axes[0].get_title() == "t"
    with pytest.raises(ValueError, match="quality"):
        plots.as_jpeg(heat, quality=0)
