"""Notebook 04's verdicts: the paper's confused and well-recognised genres (section 3.1) and whether
attention beats mean pooling and MFCC statistics in a paired McNemar test (abstract)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperlib.analysis import confusion
from paperlib.core.results import Claim, ConfusionResult

SIGNIFICANCE = 0.05  # McNemar p below which "beats" holds
TOP_PAIRS = 3  # "confused": among the 3 most confused of the 45 genre pairs
TOP_RECALL = 3  # "high accuracy": among the 3 genres with the highest recall
REFERENCE = "attention"  # the row of the comparison table holding the attention model


def pair_text(pairs: pd.DataFrame, a: str, b: str) -> str:
    """How confused {a, b} is: its rank (with ties), clips and share of all errors."""
    rank = confusion.pair_rank(pairs, a, b)
    row = pairs[((pairs["a"] == a) & (pairs["b"] == b)) | ((pairs["a"] == b) & (pairs["b"] == a))].iloc[0]
    ties = int((pairs["count"] == row["count"]).sum()) - 1
    where = (f"rank {rank} of {len(pairs)}" + (f" (tied with {ties})" if ties else "")
             if rank is not None else "never confused")
    return f"{where}: {row['count']} clips, {row['share_of_errors']:.0%} of errors"


def beats(comparison: pd.DataFrame, other: str) -> tuple[str, bool | None]:
    """The attention model against `other` (a `compare_classifiers` row): text and whether it is more
    accurate with McNemar p < SIGNIFICANCE; None when `other` was not run."""
    accuracy = comparison.loc[REFERENCE, "accuracy"]
    acc, p = comparison.loc[other, "accuracy"], comparison.loc[other, "mcnemar_p"]
    if np.isnan(acc):
        return "not run in this profile", None
    return (f"{accuracy:.3f} vs {acc:.3f}, McNemar p = {p:.3g}",
            bool(accuracy > acc and p < SIGNIFICANCE))


def genre_confusion_claims(pairs: pd.DataFrame, scores: pd.DataFrame) -> list[Claim]:
    """Section 3.1's confused and well-recognised genres from `confusion.confused_pairs` and
    `confusion.per_genre_scores` (of any classifier: the model's, or clip statistics')."""
    ranks = confusion.recall_rank(scores)
    return [
        Claim("3.1", "blues and country are confused", "some confusion (shared roots)",
              pair_text(pairs, "blues", "country"), confusion.pair_in_top(pairs, "blues", "country", k=TOP_PAIRS),
              key="confused:blues-country"),
        Claim("3.1", "hiphop and reggae are confused", "often misclassified",
              pair_text(pairs, "hiphop", "reggae"), confusion.pair_in_top(pairs, "hiphop", "reggae", k=TOP_PAIRS),
              key="confused:hiphop-reggae"),
        Claim("3.1", f"classical and jazz are among the {TOP_RECALL} genres with the highest recall",
              "high accuracy",
              f"recall classical {scores.loc['classical', 'recall']:.2f} (rank {ranks['classical']}), "
              f"jazz {scores.loc['jazz', 'recall']:.2f} (rank {ranks['jazz']})",
              confusion.genres_in_top_recall(scores, ["classical", "jazz"], k=TOP_RECALL),
              key="recall:classical-jazz"),
    ]


def confusion_claims(pairs: pd.DataFrame, scores: pd.DataFrame, comparison: pd.DataFrame) -> list[Claim]:
    """Section 3.1 and abstract claims from `confusion.confused_pairs`, `confusion.per_genre_scores` and
    `confusion.compare_classifiers` (reference "attention", rows "mean pooling" and "MFCC statistics")."""
    return [
        *genre_confusion_claims(pairs, scores),
        Claim("abstract", f"attention beats mean pooling (p < {SIGNIFICANCE:g})", "enhances classification accuracy",
              *beats(comparison, "mean pooling")),
        Claim("abstract", f"attention beats MFCC statistics (p < {SIGNIFICANCE:g})",
              "enhances classification accuracy", *beats(comparison, "MFCC statistics")),
    ]


def confusion_result(accuracy: float, scores: pd.DataFrame, pairs: pd.DataFrame,
                     comparison: pd.DataFrame) -> ConfusionResult:
    """Notebook 04's typed result from the held-out accuracy, `confusion.per_genre_scores`,
    `confusion.confused_pairs` and `confusion.compare_classifiers`; with its claims."""
    mean_accuracy = comparison.loc["mean pooling", "accuracy"]
    ablation = {"mean_pool_accuracy": None, "mcnemar_p_mean": None}
    missing = {name: "the mean-pooling ablation was not run (ablation: false)" for name in ablation}
    if not np.isnan(mean_accuracy):
        ablation = {"mean_pool_accuracy": float(mean_accuracy),
                    "mcnemar_p_mean": float(comparison.loc["mean pooling", "mcnemar_p"])}
        missing = {}
    top = pairs.head(5)[["a", "b", "count"]].to_numpy()
    return ConfusionResult(
        accuracy=accuracy, per_genre_recall={g: float(v) for g, v in scores["recall"].items()},
        per_genre_f1={g: float(v) for g, v in scores["f1"].items()},
        top_confused_pairs=[(a, b, int(n)) for a, b, n in top if n > 0],
        mfcc_accuracy=float(comparison.loc["MFCC statistics", "accuracy"]),
        mcnemar_p_mfcc=float(comparison.loc["MFCC statistics", "mcnemar_p"]), **ablation,
        claims=confusion_claims(pairs, scores, comparison), missing=missing)
