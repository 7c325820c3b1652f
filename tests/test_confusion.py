"""Confusion matrices, per-genre scores, confused pairs and the McNemar test on hand-made inputs."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlib.analysis.confusion import (
    compare_classifiers,
    confused_pairs,
    confusion_counts,
    confusion_table,
    genres_in_top_recall,
    mcnemar,
    pair_in_top,
    pair_rank,
    per_genre_scores,
    recall_rank,
    row_normalize,
)

GENRES3 = ("x", "y", "z")


def test_confusion_counts_and_row_normalization():
    labels = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 1, 0])
    counts = confusion_counts(labels, predicted, n_classes=4)
    expected = np.array([[1, 2, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    assert np.array_equal(counts, expected)
    shares = row_normalize(counts)
    assert np.allclose(shares[0], [1 / 3, 2 / 3, 0, 0])
    assert np.allclose(shares[1], [0, 1, 0, 0]) and np.allclose(shares[3], 0)  # empty row stays 0
    table = confusion_table(counts[:3, :3], genres=GENRES3)
    assert table.columns.tolist() == ["true genre", "x", "y", "z"] and table["y"].tolist() == [2, 2, 0]
    with pytest.raises(ValueError, match="class indices"):
        confusion_counts(labels, predicted, n_classes=2)
    with pytest.raises(ValueError, match="square"):
        row_normalize(np.zeros((2, 3)))


def test_per_genre_scores_on_a_tiny_example():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 1, 2])
    scores = per_genre_scores(labels, predicted, genres=GENRES3)
    assert scores.index.tolist() == list(GENRES3)
    assert np.allclose(scores["recall"], [0.5, 1.0, 0.5])
    assert np.allclose(scores["precision"], [1.0, 0.5, 1.0])
    assert np.allclose(scores.loc["x", "f1"], 2 / 3) and np.allclose(scores.loc["y", "f1"], 2 / 3)
    assert scores["support"].tolist() == [2, 2, 2]
    ranks = recall_rank(scores)
    assert ranks["y"] == 1 and ranks["x"] == ranks["z"] == 2
    assert genres_in_top_recall(scores, ["y"], k=1) and not genres_in_top_recall(scores, ["x"], k=1)
    assert genres_in_top_recall(scores, ["x", "z"], k=2)
    never_predicted = per_genre_scores(labels, np.zeros(6, int), genres=GENRES3)
    assert never_predicted.loc["y", "precision"] == 0 and never_predicted.loc["y", "f1"] == 0


def test_pair_ranking_puts_the_planted_confused_pair_first():
    genres = ("a", "b", "c", "d")
    counts = np.diag([20, 20, 20, 20])
    counts[1, 3], counts[3, 1] = 5, 4  # planted: b <-> d
    counts[0, 2] = 3
    counts[2, 3] = 1
    pairs = confused_pairs(counts, genres=genres)
    assert (pairs.loc[0, "a"], pairs.loc[0, "b"], pairs.loc[0, "count"]) == ("b", "d", 9)
    assert pairs.loc[0, "share_of_errors"] == pytest.approx(9 / 13)
    assert pairs["share_of_errors"].sum() == pytest.approx(1.0)
    assert pair_rank(pairs, "d", "b") == 1 and pair_rank(pairs, "a", "c") == 2
    assert pair_rank(pairs, "a", "b") is None  # never confused
    assert pair_in_top(pairs, "b", "d", k=1) and not pair_in_top(pairs, "c", "d", k=2)
    assert pair_in_top(pairs, "c", "d", k=3) and not pair_in_top(pairs, "a", "b", k=6)
    with pytest.raises(ValueError, match="not in the table"):
        pair_rank(pairs, "a", "q")


def test_mcnemar_exact_p_values():
    right = np.ones(30, bool)
    wrong_10 = right.copy()
    wrong_10[:10] = False
    test = mcnemar(right, wrong_10)  # b = 10, c = 0
    assert (test.b, test.c) == (10, 0) and test.p_value < 0.01
    assert test.p_value == pytest.approx(2 * 0.5 ** 10)
    swapped = mcnemar(wrong_10, right)
    assert (swapped.b, swapped.c) == (0, 10) and swapped.p_value == pytest.approx(test.p_value)
    a = np.array([True] * 5 + [False] * 5 + [True] * 4)
    b = np.array([False] * 5 + [True] * 5 + [True] * 4)  # b = c = 5
    assert mcnemar(a, b).p_value == pytest.approx(1.0)
    assert mcnemar(right, right) == mcnemar(right, right).__class__(0, 0, 1.0)
    with pytest.raises(ValueError, match="same length"):
        mcnemar(right, right[:5])


def test_compare_classifiers_table():
    labels = np.zeros(20, int)
    ref = np.zeros(20, int)
    other = ref.copy()
    other[:10] = 1
    table = compare_classifiers(labels, {"ref": ref, "other": other, "absent": None}, reference="ref")
    assert table.loc["ref", "accuracy"] == 1.0 and table.loc["other", "accuracy"] == 0.5
    assert table.loc["other", "reference_right_other_wrong"] == 10
    assert table.loc["other", "mcnemar_p"] < 0.01 and pd.isna(table.loc["ref", "mcnemar_p"])
    assert pd.isna(table.loc["absent", "accuracy"])
    with pytest.raises(ValueError, match="reference"):
        compare_classifiers(labels, {"ref": None}, reference="ref")


def test_confusion_plots_are_labelled():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from paperlib.figures import plots

    counts = np.array([[3, 1, 0], [0, 2, 2], [1, 0, 4]])
    for matrix, normalized, cell in ((counts, False, "2"), (row_normalize(counts), True, "0.50")):
        fig = plots.confusion_heatmap(matrix, GENRES3, normalized=normalized)
        ax = fig.axes[0]
        assert ax.get_xlabel() == "predicted genre" and ax.get_ylabel() == "true genre"
        assert [t.get_text() for t in ax.get_xticklabels()] == list(GENRES3)
        assert [t.get_text() for t in ax.get_yticklabels()] == list(GENRES3)
        assert [t.get_text() for t in ax.texts][4] == cell  # row 1, column 1
        plt.close(fig)
    with pytest.raises(ValueError, match="3x3"):
        plots.confusion_heatmap(np.zeros((2, 2)), GENRES3)
    fig = plots.per_genre_f1(per_genre_scores(np.array([0, 1, 2]), np.array([0, 1, 1]), genres=GENRES3))
    assert len(fig.axes[0].patches) == 3
    plt.close(fig)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=80))
def test_mcnemar_from_counts_is_mcnemar_of_the_clips(pairs):
    from paperlib.analysis.confusion import mcnemar, mcnemar_from_counts

    a, b = (np.array(x, dtype=bool) for x in zip(*pairs))
    test = mcnemar(a, b)
    assert mcnemar_from_counts(test.b, test.c) == test
    with pytest.raises(ValueError, match="never negative"):
        mcnemar_from_counts(-1, 3)
