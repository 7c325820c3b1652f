"""Confusion analysis of out-of-fold predictions: matrices, per-genre scores, confused pairs, McNemar."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from paperlib.data.genres import GENRES


def _check_labels(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    if labels.ndim != 1 or labels.shape != predicted.shape:
        raise ValueError(f"labels and predictions must be 1-d of the same length, got shapes "
                         f"{labels.shape} and {predicted.shape}")
    if len(labels) and (min(labels.min(), predicted.min()) < 0 or max(labels.max(), predicted.max()) >= n_classes):
        raise ValueError(f"class indices must lie in [0, {n_classes}), got labels in "
                         f"[{labels.min()}, {labels.max()}] and predictions in [{predicted.min()}, {predicted.max()}]")
    return labels, predicted


def confusion_counts(labels: np.ndarray, predicted: np.ndarray, *, n_classes: int = len(GENRES)) -> np.ndarray:
    """(n_classes, n_classes) counts: row = true class, column = predicted class."""
    from sklearn.metrics import confusion_matrix

    labels, predicted = _check_labels(labels, predicted, n_classes)
    return confusion_matrix(labels, predicted, labels=list(range(n_classes)))


def row_normalize(counts: np.ndarray) -> np.ndarray:
    """Each row divided by its total (the share of a true class predicted as each class); empty rows stay 0."""
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"expected a square confusion matrix, got shape {counts.shape}")
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def confusion_table(counts: np.ndarray, *, genres: Sequence[str] = GENRES) -> pd.DataFrame:
    """The matrix as a table with a `true genre` column and one column per predicted genre (for CSV)."""
    counts = np.asarray(counts)
    if counts.shape != (len(genres), len(genres)):
        raise ValueError(f"expected a {len(genres)}x{len(genres)} matrix, got shape {counts.shape}")
    table = pd.DataFrame(counts, columns=list(genres))
    table.insert(0, "true genre", list(genres))
    return table


def per_genre_scores(labels: np.ndarray, predicted: np.ndarray, *,
                     genres: Sequence[str] = GENRES) -> pd.DataFrame:
    """Precision, recall, F1 and support of each genre (0 where undefined), indexed by genre."""
    from sklearn.metrics import precision_recall_fscore_support

    labels, predicted = _check_labels(labels, predicted, len(genres))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=list(range(len(genres))), zero_division=0)
    return pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": support.astype(int)},
                        index=pd.Index(list(genres), name="genre"))


def confused_pairs(counts: np.ndarray, *, genres: Sequence[str] = GENRES) -> pd.DataFrame:
    """Unordered genre pairs ranked by clips of either genre predicted as the other.

    Columns: a, b, a_as_b, b_as_a, count (= a_as_b + b_as_a), share_of_errors (count over all
    misclassified clips), rank (1 = most confused; tied counts share the best rank). Ties keep genre order.
    """
    counts = np.asarray(counts)
    n = len(genres)
    if counts.shape != (n, n):
        raise ValueError(f"expected a {n}x{n} matrix, got shape {counts.shape}")
    errors = int(counts.sum() - np.trace(counts))
    rows = [{"a": genres[i], "b": genres[j], "a_as_b": int(counts[i, j]), "b_as_a": int(counts[j, i])}
            for i in range(n) for j in range(i + 1, n)]
    table = pd.DataFrame(rows, columns=["a", "b", "a_as_b", "b_as_a"])
    table["count"] = table["a_as_b"] + table["b_as_a"]
    table["share_of_errors"] = table["count"] / errors if errors else 0.0
    table = table.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
    table["rank"] = table["count"].rank(ascending=False, method="min").astype(int)
    return table


def pair_rank(pairs: pd.DataFrame, a: str, b: str) -> int | None:
    """The rank of the unordered pair {a, b} in `confused_pairs` output (None if never confused)."""
    match = pairs[((pairs["a"] == a) & (pairs["b"] == b)) | ((pairs["a"] == b) & (pairs["b"] == a))]
    if match.empty:
        raise ValueError(f"pair ({a!r}, {b!r}) not in the table; expected two of {sorted(set(pairs['a']) | set(pairs['b']))}")
    row = match.iloc[0]
    return int(row["rank"]) if row["count"] > 0 else None


def pair_in_top(pairs: pd.DataFrame, a: str, b: str, *, k: int = 3) -> bool:
    """Whether {a, b} is among the k most confused pairs (confused at all, fewer than k pairs above it)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    rank = pair_rank(pairs, a, b)
    return rank is not None and rank <= k


def recall_rank(scores: pd.DataFrame) -> pd.Series:
    """Rank of each genre by recall (1 = highest; ties share the best rank)."""
    if "recall" not in scores:
        raise ValueError(f"expected a `recall` column (per_genre_scores output), got {list(scores.columns)}")
    return scores["recall"].rank(ascending=False, method="min").astype(int)


def genres_in_top_recall(scores: pd.DataFrame, genres: Sequence[str], *, k: int = 3) -> bool:
    """Whether every one of `genres` is among the k genres with the highest recall (ties shared)."""
    ranks = recall_rank(scores)
    missing = [g for g in genres if g not in ranks.index]
    if missing:
        raise ValueError(f"unknown genres {missing}; expected some of {list(ranks.index)}")
    return bool(all(ranks[g] <= k for g in genres))


@dataclass(frozen=True)
class McNemar:
    """Paired comparison of classifiers A and B on the same clips."""

    b: int  # A right, B wrong
    c: int  # A wrong, B right
    p_value: float  # exact two-sided binomial test of b against b + c at 0.5


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemar:
    """Exact McNemar test from per-clip correctness (booleans) of two classifiers."""
    correct_a, correct_b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if correct_a.ndim != 1 or correct_a.shape != correct_b.shape:
        raise ValueError(f"expected two 1-d boolean arrays of the same length, got shapes "
                         f"{correct_a.shape} and {correct_b.shape}")
    return mcnemar_from_counts(int(np.sum(correct_a & ~correct_b)), int(np.sum(~correct_a & correct_b)))


def mcnemar_from_counts(b: int, c: int) -> McNemar:
    """Exact McNemar test from the discordant counts: `b` clips only the first classifier gets
    right, `c` only the second (e.g. summed over runs)."""
    from scipy.stats import binomtest

    if min(b, c) < 0:
        raise ValueError(f"McNemar's counts are clips, never negative; got b={b}, c={c}.")
    p = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5).pvalue)
    return McNemar(b=b, c=c, p_value=p)


def compare_classifiers(labels: np.ndarray, predictions: dict[str, np.ndarray | None], *,
                        reference: str) -> pd.DataFrame:
    """Accuracy of each classifier and an exact McNemar test of `reference` against each other one.

    `predictions` maps a name to predicted classes per clip, or None for a classifier not run (its row
    is kept with missing values). Columns: accuracy, reference_right_other_wrong (b),
    reference_wrong_other_right (c), mcnemar_p.
    """
    labels = np.asarray(labels)
    if predictions.get(reference) is None:
        raise ValueError(f"reference {reference!r} must have predictions; got names {list(predictions)}")
    ref_correct = np.asarray(predictions[reference]) == labels
    rows = []
    for name, predicted in predictions.items():
        row: dict[str, object] = {"classifier": name, "accuracy": np.nan, "reference_right_other_wrong": pd.NA,
                                  "reference_wrong_other_right": pd.NA, "mcnemar_p": np.nan}
        if predicted is not None:
            predicted = np.asarray(predicted)
            if predicted.shape != labels.shape:
                raise ValueError(f"predictions of {name!r} have shape {predicted.shape}, expected {labels.shape}")
            correct = predicted == labels
            row["accuracy"] = float(correct.mean())
            if name != reference:
                test = mcnemar(ref_correct, correct)
                row.update(reference_right_other_wrong=test.b, reference_wrong_other_right=test.c,
                           mcnemar_p=test.p_value)
        rows.append(row)
    return pd.DataFrame(rows).set_index("classifier")
