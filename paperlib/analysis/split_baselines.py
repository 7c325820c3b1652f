"""Clip-statistics classifiers under random, artist-grouped and fault-filtered splits: accuracy with
a bootstrap interval over artists, and the drop from random to artist-grouped folds (the leakage
that random folds on GTZAN hide: one artist's songs on both sides of a split)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from paperlib.data.folds import assign_folds, filtered_folds, held_out_rows
from paperlib.data.gtzan_splits import artist_folds
from paperlib.model.baselines import (
    oof_predictions,
    standardized_logistic,
    standardized_svm,
)

CLASSIFIERS: dict[str, Callable[[], Any]] = {
    "logistic regression": partial(standardized_logistic, solver="newton-cg"),  # the usual baseline
    "RBF SVM": standardized_svm,  # a stronger, non-linear one that still fits in a second
}
REPEATS = 3  # fold seeds per split: seed, seed + 1, seed + 2
DRAWS = 2000  # bootstrap draws
CONFIDENCE = 0.95


def split_folds(split: str, track_ids: Sequence[str], labels: np.ndarray, *, folds: int, seed: int,
                artists: pd.DataFrame | None = None, lists: pd.Series | None = None) -> np.ndarray:
    """A clip-fold array for `split`: stratified random folds, stratified folds keeping each artist
    in one (`artists`: Sturm's index) or the fault-filtered lists (`lists`; every clip listed)."""
    if split == "random":
        return assign_folds(labels, folds=folds, seed=seed)
    if split == "artist" and artists is not None:
        return artist_folds(list(track_ids), labels, artists, folds=folds, seed=seed)
    if split == "fault-filtered" and lists is not None:
        return filtered_folds(list(track_ids), lists)
    raise ValueError(f"split {split!r} needs {'artists' if split == 'artist' else 'lists'} "
                     "(or is unknown); expected random, artist or fault-filtered.")


@dataclass(frozen=True)
class SplitPredictions:
    """One classifier under one split: the predicted class of each clip for each fold seed
    (repeats, clips), -1 where the clip was not held out (fault-filtered train and valid)."""

    classifier: str
    split: str
    predicted: np.ndarray

    def correct(self, labels: np.ndarray) -> np.ndarray:
        """(clips,) share of the fold seeds that got each clip right (NaN: never held out)."""
        held = self.predicted >= 0
        hits = np.where(held, self.predicted == np.asarray(labels)[None, :], 0).sum(0)
        return np.where(held.any(0), hits / np.maximum(held.sum(0), 1), np.nan)

    def seed_accuracies(self, labels: np.ndarray) -> list[float]:
        held = self.predicted >= 0
        return [float(np.mean(p[h] == np.asarray(labels)[h])) for p, h in zip(self.predicted, held)]


def predict_splits(stats: np.ndarray, labels: np.ndarray, fold_sets: Mapping[str, Sequence[np.ndarray]],
                   classifiers: Mapping[str, Callable[[], Any]] = CLASSIFIERS) -> list[SplitPredictions]:
    """Every classifier under every split (`fold_sets`: split -> its clip-fold arrays, one per seed)."""
    return [SplitPredictions(name, split, np.stack([oof_predictions(make, stats, labels, folds)
                                                    for folds in fold_sets[split]]))
            for name, make in classifiers.items() for split in fold_sets]


def group_bootstrap(values: np.ndarray, groups: np.ndarray, *, draws: int = DRAWS, seed: int = 0,
                    confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval of the mean of `values` (NaN: left out) when whole groups (artists) are
    resampled with replacement: clips of one artist are not independent evidence."""
    values, groups = np.asarray(values, dtype=float), np.asarray(groups)
    if values.shape != groups.shape or values.ndim != 1:
        raise ValueError(f"values and groups must be 1-d of one length, got {values.shape} and {groups.shape}")
    keep = ~np.isnan(values)
    if not keep.any():
        raise ValueError("no value to bootstrap (all NaN)")
    codes = np.unique(groups[keep], return_inverse=True)[1]
    sums = np.bincount(codes, weights=values[keep])
    counts = np.bincount(codes).astype(float)
    picks = np.random.default_rng(seed).integers(0, len(sums), size=(draws, len(sums)))
    means = sums[picks].sum(1) / counts[picks].sum(1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def accuracy_table(predictions: Sequence[SplitPredictions], labels: np.ndarray, groups: np.ndarray, *,
                   seed: int = 0) -> pd.DataFrame:
    """One row per classifier and split: held-out clips, accuracy (mean over fold seeds), its
    interval over artists (`groups`), and the accuracy of each fold seed."""
    rows = []
    for p in predictions:
        correct = p.correct(labels)
        low, high = group_bootstrap(correct, groups, seed=seed)
        rows.append({"classifier": p.classifier, "split": p.split,
                     "clips": int((~np.isnan(correct)).sum()), "accuracy": float(np.nanmean(correct)),
                     "low": low, "high": high, "fold seeds": p.seed_accuracies(labels)})
    return pd.DataFrame(rows)


def drop(a: SplitPredictions, b: SplitPredictions, labels: np.ndarray, groups: np.ndarray, *,
         seed: int = 0) -> tuple[float, float, float]:
    """Accuracy of `a` minus that of `b` on the clips both hold out, with a paired interval over
    artists: (drop, low, high)."""
    difference = a.correct(labels) - b.correct(labels)
    low, high = group_bootstrap(difference, groups, seed=seed)
    return float(np.nanmean(difference)), low, high


def predictions_on_folds(stats: np.ndarray, labels: np.ndarray, folds: np.ndarray,
                      classifiers: Mapping[str, Callable[[], Any]] = CLASSIFIERS) -> dict[str, np.ndarray]:
    """Each classifier's out-of-fold predictions on given folds (a run's own), held-out clips only."""
    rows = held_out_rows(folds)
    return {name: oof_predictions(make, stats, labels, folds)[rows] for name, make in classifiers.items()}
